"""siyu (私域): private-domain user operations for the WeChat ecosystem."""

__version__ = "0.1.0"
