// Runs in every test worker before the test files.
// React's act() warns unless this flag is set; screen tests wrap render and input in act().
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
// ink decides at load time whether it runs in CI and then draws only the last frame. The console
// itself loads ink with CI hidden (bin/main.ts), so the screen tests do the same: they test the
// console operators see, in CI or not.
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
