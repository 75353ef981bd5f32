"""I/O adapters, one module per rule file: read inputs, call the library, write outputs atomically."""
