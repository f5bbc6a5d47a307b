"""The ``dgx-music`` command line."""
