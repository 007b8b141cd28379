//! Placeholder: the dev server is being built.
