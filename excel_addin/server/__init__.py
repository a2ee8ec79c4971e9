"""Optional xlwings Server deployment (needs an xlwings PRO licence for commercial use): see README.md."""
