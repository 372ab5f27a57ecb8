// Runs in every test worker before the test files.
// React's act() warns unless this flag is set; screen tests wrap render and input in act().
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
