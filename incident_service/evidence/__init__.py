"""Evidence files: judged by their bytes, sealed as they stream, stored, and logged."""
