"""Allow `python -m homelabeazy`."""

from homelabeazy.cli.app import main

if __name__ == "__main__":
    main()
