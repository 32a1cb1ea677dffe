//! Tables and charts for plans and probe runs.
pub mod chart;
pub mod plan;
pub mod table;
