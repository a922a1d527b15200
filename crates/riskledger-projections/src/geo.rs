//! Great-circle geometry for the location rules.
