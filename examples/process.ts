/**
 * Runs a program's `main` as the process: its resolved value is the exit
 * code; an unexpected error is printed (its message only) with exit code 1.
 */
export function runAsMain(main: Promise<number>): void {
  main.then(
    (code) => {
      process.exitCode = code
    },
    (e: unknown) => {
      console.error(e instanceof Error ? `error: ${e.message}` : e)
      process.exitCode = 1
    },
  )
}
