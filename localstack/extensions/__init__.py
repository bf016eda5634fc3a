"""Small, documented additions to the emulator (moto server): see README.md."""
