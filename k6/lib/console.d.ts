// k6 has a console (it prints to its own log), but @types/k6 does not declare one and this project
// deliberately leaves out the DOM and Node typings here.
declare const console: {
  log(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
};
