/** The Prometheus and Alertmanager command-line tools the checks run: finding them and running them. */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** A tool and the Debian package that provides it. */
export interface Tool {
  readonly name: 'promtool' | 'amtool';
  readonly debianPackage: 'prometheus' | 'prometheus-alertmanager';
}

export const PROMTOOL: Tool = { name: 'promtool', debianPackage: 'prometheus' };
export const AMTOOL: Tool = { name: 'amtool', debianPackage: 'prometheus-alertmanager' };

/** The executable's absolute path on a PATH-style list of directories, or undefined. */
export function findTool(tool: Tool, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, tool.name);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, constants.X_OK);
        return candidate;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What to do about a missing tool. */
export function missingToolMessage(tool: Tool, skipped: string): string {
  return (
    `${tool.name} was not found on PATH, so ${skipped} were not checked: it comes from the Debian package ` +
    `${tool.debianPackage}; install it with \`npm run test:deps\` (as root on Debian) or ` +
    `\`sudo apt-get install --no-install-recommends ${tool.debianPackage}\``
  );
}

/** How a tool run ended. */
export interface ToolRun {
  readonly ok: boolean;
  /** stdout and stderr, in that order. */
  readonly output: string;
}

/** Runs a tool to completion; a non-zero exit is `ok: false`, never an exception. */
export function runTool(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 300_000,
): Promise<ToolRun> {
  return new Promise((resolveRun) => {
    execFile(
      command,
      [...args],
      { cwd, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error === null) {
          resolveRun({ ok: true, output });
          return;
        }
        const reason = error.killed ? `timed out after ${timeoutMs / 1000}s` : error.message.split('\n')[0];
        resolveRun({ ok: false, output: output.trim() === '' ? (reason ?? 'failed') : output });
      },
    );
  });
}
