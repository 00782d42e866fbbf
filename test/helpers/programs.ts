import { execFileSync } from 'node:child_process'

/**
 * Finds a program the tests need from Debian. Under CI=true a missing program is a failure
 * (CI installs it); elsewhere the test is skipped with the reason printed.
 */
export function requireProgram(name: string, debianPackage: string): { path: string } | { skip: string } {
  try {
    const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim()
    if (path !== '') return { path }
  } catch {
    // not found
  }
  const reason = `${name} not found: install Debian's ${debianPackage} (apt-get install ${debianPackage})`
  if (process.env.CI === 'true') throw new Error(`${reason}; CI must install it (.ci/run)`)
  return { skip: reason }
}
