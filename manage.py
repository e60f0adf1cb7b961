#!/usr/bin/env python
"""Django's command-line utility for adplatform."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "adplatform.settings")
    from django.core.management import execute_from_command_line

    from adplatform.config import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        sys.exit(f"adplatform: configuration error: {exc}")


if __name__ == "__main__":
    main()
