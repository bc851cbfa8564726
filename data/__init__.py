"""Raw data (``data/raw``) and the synthetic instrument that wrote it (``data/synth``)."""
