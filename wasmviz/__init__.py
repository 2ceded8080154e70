"""wasmviz: watch run-time code generation happen inside WebAssembly."""

__version__ = "0.1.0"
