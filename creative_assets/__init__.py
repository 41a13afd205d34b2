"""creative-assets: campaign briefs in, localized brand-safe social ad creatives out."""

__version__ = "0.1.0"
