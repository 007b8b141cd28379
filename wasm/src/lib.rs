//! Placeholder: the wasm shell is being built.
