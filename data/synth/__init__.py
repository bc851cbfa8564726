"""The synthetic instrument: forward models that write ``data/raw`` from ``truth.yaml``.

The original authors released no data; these models stand in for their instruments.
Only this package reads the truth; ``analysis`` sees the raw files alone.
"""
