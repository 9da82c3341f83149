// Renders an action's stdout the way a GitHub workflow log shows it: workflow commands (::group::, ::error::,
// ::add-mask:: ...) interpreted, escapes undone, masked values replaced with ***.

const unescape = (s: string) =>
  s
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%3A/g, ':')
    .replace(/%2C/g, ',')
    .replace(/%25/g, '%');

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);

export class WorkflowLog {
  private readonly masks: string[] = [];
  private buffer = '';
  private indent = '';

  constructor(private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {}

  /** Feeds a chunk of the action's stdout; complete lines are rendered. */
  feed(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      this.line(this.buffer.slice(0, nl));
      this.buffer = this.buffer.slice(nl + 1);
    }
  }

  end(): void {
    if (this.buffer) this.line(this.buffer);
    this.buffer = '';
  }

  private mask(s: string): string {
    let out = s;
    for (const m of this.masks) out = out.split(m).join('***');
    return out;
  }

  private line(raw: string): void {
    const m = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(raw);
    if (!m) return this.write(`${this.indent}${this.mask(raw)}\n`);
    const [, cmd, arg] = m;
    const text = this.mask(unescape(arg!));
    switch (cmd) {
      case 'add-mask':
        if (text.length > 3) this.masks.push(unescape(arg!));
        return;
      case 'group':
        this.write(`${paint('1', `▼ ${text}`)}\n`);
        this.indent = '  ';
        return;
      case 'endgroup':
        this.indent = '';
        return;
      case 'error':
        return this.write(`${this.indent}${paint('31', `Error: ${text}`)}\n`);
      case 'warning':
        return this.write(`${this.indent}${paint('33', `Warning: ${text}`)}\n`);
      case 'notice':
        return this.write(`${this.indent}Notice: ${text}\n`);
      case 'debug':
        return;
      default:
        return this.write(`${this.indent}${this.mask(raw)}\n`);
    }
  }
}
