"""Configuration lives in `incident_service.settings`; this module keeps `from config import
Config` working for scripts run from the checkout. It is not installed with the package."""

from incident_service.settings import Config, UnsafeConfiguration

__all__ = ["Config", "UnsafeConfiguration"]
