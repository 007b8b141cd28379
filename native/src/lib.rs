//! Placeholder: the native shell is being built.
