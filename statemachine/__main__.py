"""`python -m statemachine`."""

from statemachine.cli import program

program()
