"""`python -m incident_service.cli ...` runs the console script."""

from incident_service.console import main

main()
