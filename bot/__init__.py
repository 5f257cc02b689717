"""Patron Desk: route patrons' public mentions of the library to the staff member on duty."""

__version__ = "0.1.0"
