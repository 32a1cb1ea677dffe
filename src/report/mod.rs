//! Tables and charts for plans and probe runs.
pub mod table;
