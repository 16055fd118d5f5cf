"""The assembly: the top layer that sees every package and puts them together.

The app factory (`app.py`), the `helpline` command line (`cli.py`), the wiring of each
package's plugin (`wiring.py`), the table registry (`tables.py`) and the schema migrations
(`migrations/`, `dbadmin.py`), the key rotation over every table (`keyrotation.py`) and the
background process (`background.py`). The kernel (`helpline/`) and the packages never import it.
"""
