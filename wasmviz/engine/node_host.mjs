// The Node/V8 host for wasmviz's main module (issue 14; docs/engines.md).
//
// It runs the SAME main.wasm the wasmtime host runs, does what machine.py and instantiate.py do
// for wasmtime (the `host.note`, `host.instantiate` and `host.instantiate_pic` imports), and
// reports to Python, one JSON line per command, what the recorder needs at each host call:
// the note's arguments, the table (as function keys), the memory changes since the last report
// (diffed here against a shadow copy), vsp and the link global, and the traps, mapped to
// wasmtime's trap code names. It records nothing itself: Python's one recorder
// (wasmviz/engine/recorder.py) turns these reports into steps (node_engine.py replays them).
//
// Protocol: Python writes one JSON command per line on stdin; the host answers each with one
// JSON line on stdout: {events: [...], value, trap, sync, elapsed_ms}. Nothing else is
// written to stdout.
import fs from 'node:fs';
import vm from 'node:vm';
import v8 from 'node:v8';
import { performance } from 'node:perf_hooks';

// Instantiate statuses and note limits: the same numbers as instantiate.py and machine.py
// (docs/abi.md); Python passes them in `init` so the two hosts cannot drift apart.
let C = null;

/** A trap the host raises itself (a refused note); wasmtime gives such a trap no code. */
class HostTrap extends Error {}

// ------------------------------------------------------------------------- traps
// V8's RuntimeError messages (its kTrap* message templates) -> wasmtime's TrapCode names.
const TRAP_CODES = [
  [/^unreachable/, 'UNREACHABLE'],
  [/memory access out of bounds|data segment/, 'MEMORY_OUT_OF_BOUNDS'],
  [/table index is out of bounds|table (access|initializer)|element segment|out of bounds/,
    'TABLE_OUT_OF_BOUNDS'],
  [/null function or function signature mismatch/, 'NULL_OR_BAD_SIGNATURE'],
  [/signature mismatch/, 'BAD_SIGNATURE'],
  [/divide by zero|remainder by zero/, 'INTEGER_DIVISION_BY_ZERO'],
  [/divide result unrepresentable/, 'INTEGER_OVERFLOW'],
  [/float unrepresentable/, 'BAD_CONVERSION_TO_INTEGER'],
  [/unaligned/, 'HEAP_MISALIGNED'],
];

function isTrap(e) {
  return e instanceof WebAssembly.RuntimeError || e instanceof HostTrap ||
    e instanceof RangeError || e?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** {code, message, frames} for a trap, as trap_info() gives them for wasmtime. */
function trapOf(e, host) {
  const frames = String(e?.stack ?? '').split('\n').filter((l) => /^\s*at .*wasm:\/\//.test(l))
    .map((l, i) => `${i}: ${l.trim().replace(/^at /, '')}`);
  let code = 'UNKNOWN';
  if (e?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
    // No fuel in V8: the host's watchdog (vm's timeout) interrupted the call. wasmtime's
    // nearest code is INTERRUPT (epoch interruption), not OUT_OF_FUEL: nothing was metered.
    return { code: 'INTERRUPT', message: `interrupted: the call ran longer than the host's ` +
      `${host.timeout} ms watchdog (V8 has no fuel)`, frames };
  }
  if (e instanceof RangeError && /call stack/.test(e.message)) code = 'STACK_OVERFLOW';
  else if (e instanceof WebAssembly.RuntimeError) {
    code = TRAP_CODES.find(([re]) => re.test(e.message))?.[1] ?? 'UNKNOWN';
  }
  if (code === 'NULL_OR_BAD_SIGNATURE') {
    // V8 gives a null slot and a slot of the wrong type one message (a null entry has no
    // signature). The host tells them apart where it knows the index call_indirect used: in
    // main's invoke (directly or through main's call_slot) it is the code slot main sent in
    // its CALL note. Elsewhere (the interpreter's calls, generated code) the index is in a
    // wasm local the host cannot see: the code says both, and node_engine.py decides from the
    // code slots in memory where it can (docs/engines.md).
    const named = frames.map((f) => /^\d+: ([^\s(]+) \(/.exec(f)?.[1]).filter(Boolean);
    const inInvoke = named[0] === 'main.invoke' ||
      (named[0] === 'main.call_slot' && named[1] === 'main.invoke');
    const slot = host.callSlot;
    if (inInvoke && slot !== null && slot >= 0 && slot < host.table.length) {
      code = host.table.get(slot) === null ? 'INDIRECT_CALL_TO_NULL' : 'BAD_SIGNATURE';
    }
  }
  return { code, message: e?.message ?? String(e), frames };
}

// ------------------------------------------------------------------------- binaries
const VALTYPES = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128',
  0x70: 'funcref', 0x6f: 'externref' };

/** Each function export's index and type, read from a module's binary (V8 compiled it, so it
 * is valid). Node 20 has no standard way to ask a function its type; the recorder needs it to
 * check a code slot's signature, as wasmtime's Func.type gives it. */
function parseExports(bytes) {
  let p = 8;
  const u32 = () => {
    let r = 0, s = 0, b;
    do { b = bytes[p++]; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80);
    return r;
  };
  const name = () => { const n = u32(); p += n; return Buffer.from(bytes.subarray(p - n, p)).toString(); };
  const limits = () => { const flag = bytes[p++]; u32(); if (flag & 1) u32(); };
  const types = [], funcs = [], exports = [];
  try {
    while (p < bytes.length) {
      const id = bytes[p++], size = u32(), end = p + size;
      if (id === 1) {
        for (let n = u32(); n > 0; n--) {
          p++; // 0x60
          const params = []; for (let k = u32(); k > 0; k--) params.push(VALTYPES[bytes[p++]]);
          const results = []; for (let k = u32(); k > 0; k--) results.push(VALTYPES[bytes[p++]]);
          types.push({ params, results });
        }
      } else if (id === 2) {
        for (let n = u32(); n > 0; n--) {
          name(); name();
          const kind = bytes[p++];
          if (kind === 0) funcs.push(u32());
          else if (kind === 1) { p++; limits(); } else if (kind === 2) limits();
          else if (kind === 3) p += 2; else u32();
        }
      } else if (id === 3) {
        for (let n = u32(); n > 0; n--) funcs.push(u32());
      } else if (id === 7) {
        for (let n = u32(); n > 0; n--) {
          const ename = name(), kind = bytes[p++], index = u32();
          if (kind === 0) exports.push({ name: ename, index, type: types[funcs[index]] ?? null });
        }
      }
      p = end;
    }
  } catch { /* a truncated section: the exports read so far */ }
  return exports;
}

const b64 = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');

// ------------------------------------------------------------------------- the host
class Host {
  constructor(init) {
    this.timeout = init.timeout_ms;
    this.report = init.report;
    // The store limits machine.py sets with store.set_limits: V8's own caps, as flags.
    v8.setFlagsFromString(`--wasm-max-table-size=${init.max_table}`);
    v8.setFlagsFromString(`--wasm-max-mem-pages=${init.max_pages}`);
    this.events = [];
    this.keys = new Map();       // function object -> key ("main:enter0", "m2:f", "anon:3")
    this.anon = 0;
    this.modules = [];           // generated instances, in order (module k is modules[k-1])
    this.pending = null;         // {number, exports} while a module is being instantiated
    this.instantiating = 0;
    this.patchNotes = 0;
    this.linkStage = null;       // "start" while V8 instantiates, "export" while patch runs
    this.linkBases = null;
    this.instantiateMs = 0;      // time spent in instantiate() during the current command
    this.callSlot = null;        // the code slot of the last CALL note (trap disambiguation)
    this.ctx = vm.createContext({ fn: null, args: null });
    const note = (kind, a, b) => this.note(kind, a, b);
    this.noteFunc = note;
    const bytes = Buffer.from(init.wasm, 'base64');
    // Synchronous compile and instantiate, as for every generated module (see instantiate()).
    const main = new WebAssembly.Instance(new WebAssembly.Module(bytes), {
      host: {
        note,
        instantiate: (ptr, len) => this.instantiate(ptr, len, null),
        instantiate_pic: (ptr, len, tb, mb) => this.instantiate(ptr, len, [tb, mb]),
      },
    });
    this.main = main.exports;
    this.memory = main.exports.memory;
    this.table = main.exports.table;
    this.shadow = new Uint8Array(0);
    this.lastTable = null;
    this.mainExports = parseExports(bytes);
    for (const [name, v] of Object.entries(main.exports)) {
      if (typeof v === 'function' && !this.keys.has(v)) this.keys.set(v, `main:${name}`);
    }
  }

  /** The values of main's exported globals (its memory map, vsp, link), for Layout.read. */
  globals() {
    const out = {};
    for (const [name, v] of Object.entries(this.main)) {
      if (v instanceof WebAssembly.Global) out[name] = v.value;
    }
    return out;
  }

  // ---------------------------------------------------------------- reports
  /** What changed since the last report: memory runs, the table if it changed, globals. */
  sync() {
    const out = {};
    const live = new Uint8Array(this.memory.buffer);
    if (live.length !== this.shadow.length) {
      const grown = new Uint8Array(live.length);
      grown.set(this.shadow.subarray(0, Math.min(live.length, this.shadow.length)));
      this.shadow = grown;
      out.size = live.length;
    }
    // Pages first, with Buffer.equals (a native memcmp: the JS loop below runs cold, in
    // V8's interpreter, for the first calls), then 32-bit words inside a differing page
    // (not float64: NaN and -0 compare wrongly). Runs closer than 4 words are merged: the
    // recorder's own diff cuts them at field boundaries anyway.
    const liveBuf = Buffer.from(this.memory.buffer), shadowBuf = Buffer.from(this.shadow.buffer);
    const a = new Int32Array(this.memory.buffer), s = new Int32Array(this.shadow.buffer);
    const mem = [];
    const PAGE = 4096;
    let runLo = -1, runHi = -1;
    const flush = () => {
      if (runLo < 0) return;
      mem.push([runLo, b64(live.subarray(runLo, runHi))]);
      this.shadow.set(live.subarray(runLo, runHi), runLo);
      runLo = runHi = -1;
    };
    for (let page = 0; page < live.length; page += PAGE) {
      const end = Math.min(page + PAGE, live.length);
      if (liveBuf.subarray(page, end).equals(shadowBuf.subarray(page, end))) continue;
      for (let i = page >> 2, n = end >> 2; i < n; i++) {
        if (a[i] === s[i]) continue;
        if (runLo >= 0 && i * 4 - runHi > 16) flush();
        if (runLo < 0) runLo = i * 4;
        runHi = i * 4 + 4;
      }
    }
    flush();
    if (mem.length) out.mem = mem;
    const table = [];
    for (let i = 0; i < this.table.length; i++) {
      const f = this.table.get(i);
      table.push(f === null ? null : this.keyOf(f));
    }
    if (this.lastTable === null || table.length !== this.lastTable.length ||
        table.some((k, i) => k !== this.lastTable[i])) {
      out.table = table;
      this.lastTable = table;
    }
    out.vsp = this.main.vsp.value;
    out.link = this.main.link ? this.main.link.value : 0;
    return out;
  }

  /** The key of a function object in a table. A function that appears while module k is
   * being instantiated (its start function's table.init) is named from k's exports: V8 names
   * a wasm function object by its function index, and k's export section maps that index. */
  keyOf(f) {
    let key = this.keys.get(f);
    if (key !== undefined) return key;
    const index = Number(f.name);
    const hit = this.pending?.exports.find((e) => e.index === index);
    key = hit ? `m${this.pending.number}:${hit.name}` : `anon:${++this.anon}`;
    this.keys.set(f, key);
    return key;
  }

  emit(event) {
    if (!this.report) return;   // nobody listens (recording off): no diff, no event
    event.stage = this.linkStage;
    event.bases = this.linkBases;
    event.sync = this.sync();
    this.events.push(event);
  }

  // ---------------------------------------------------------------- imports
  note(kind, a, b) {
    if (this.instantiating) {
      // A generated module's link code: foreign input, bounded as machine.py bounds it.
      this.patchNotes++;
      if (kind < C.PATCH_NOTES) {
        throw new HostTrap(`a generated module sent note(${kind}, ${a}, ${b}); kinds ` +
          `below ${C.PATCH_NOTES} are the main module's own`);
      }
      if (this.patchNotes > C.MAX_PATCH_NOTES) {
        throw new HostTrap(`a generated module sent more than ` +
          `${C.MAX_PATCH_NOTES.toLocaleString('en')} notes while it was patched in`);
      }
    } else if (kind === C.NOTE_CALL) {
      this.callSlot = b;
    }
    this.emit({ e: 'note', kind, a, b });
  }

  instantiate(ptr, len, bases) {
    const t0 = performance.now();
    this.instantiating++;
    this.patchNotes = 0;
    this.linkBases = bases === null ? null : [bases[0] >>> 0, bases[1] >>> 0];
    try {
      return this.instantiateModule(ptr, len);
    } finally {
      this.instantiating--;
      this.linkStage = null;
      this.pending = null;
      this.instantiateMs += performance.now() - t0;
    }
  }

  instantiateModule(ptr, len) {
    if (ptr < 0 || len < 0) { ptr >>>= 0; len >>>= 0; }
    // main's own count of the modules it has handed over, plus one (Machine.next_module_number)
    const number = new DataView(this.memory.buffer)
      .getInt32(this.main.STATE_BASE.value + C.STATE_MODULES_OFFSET, true) + 1;
    const live = new Uint8Array(this.memory.buffer);
    if (ptr + len > live.length) {
      this.emit({ e: 'invalid', number, ptr, len: 0,
        message: `out of bounds memory read at ${ptr} + ${len}` });
      return C.INVALID_MODULE;
    }
    const data = live.slice(ptr, ptr + len);
    let module;
    try {
      // Synchronous: `new WebAssembly.Module` + `new WebAssembly.Instance`. A page would use
      // the async WebAssembly.compile/instantiate for large modules (and must, on the main
      // thread, past a few KB), but this runs inside main's call to host.instantiate: a wasm
      // caller cannot wait on a promise in the middle of a call, so the status main needs
      // now could only come later, from another entry point. That is why late linking in a
      // browser is asynchronous code generation; Node allows the sync API at any size.
      module = new WebAssembly.Module(data);
    } catch (e) {
      this.emit({ e: 'invalid', number, ptr, len, message: e.message });
      return C.INVALID_MODULE;
    }
    const imports = WebAssembly.Module.imports(module);
    const exports = parseExports(data);
    this.emit({ e: 'compiled', number, ptr, len, imports,
      exports: WebAssembly.Module.exports(module).map((x) => ({ name: x.name, kind: x.kind,
        type: exports.find((f) => f.name === x.name)?.type ?? null })) });
    const pic = this.linkBases !== null;
    const providers = pic ? C.PIC_PROVIDERS : C.PROVIDERS;
    const given = { 'host.note': this.noteFunc, 'main.table': this.table,
      'main.memory': this.memory };
    if (pic) {
      const g = (v) => new WebAssembly.Global({ value: 'i32', mutable: false }, v | 0);
      given['env.__table_base'] = g(this.linkBases[0]);
      given['env.__memory_base'] = g(this.linkBases[1]);
    }
    // wasmtime's Instance takes the imports in order: the i-th import gets the i-th
    // provider whatever its name. Do the same, so both hosts link (or refuse) alike.
    const importObject = {};
    imports.forEach((imp, i) => {
      importObject[imp.module] ??= {};
      if (i < providers.length) importObject[imp.module][imp.name] = given[providers[i]];
    });
    let instance;
    this.pending = { number, exports };
    this.linkStage = 'start';   // a start function runs inside the constructor
    try {
      instance = new WebAssembly.Instance(module, importObject);
    } catch (e) {
      this.emit({ e: 'link_error', number, providers, message: e.message,
        trap: isTrap(e) ? trapOf(e, this) : null });
      return C.LINK_ERROR;
    } finally {
      this.linkStage = null;
    }
    this.modules.push(instance);
    const names = [];
    for (const [name, v] of Object.entries(instance.exports)) {
      if (typeof v === 'function' && !this.keys.has(v)) this.keys.set(v, `m${number}:${name}`);
      names.push({ name, kind: typeof v === 'function' ? 'function' : 'other',
        key: typeof v === 'function' ? this.keys.get(v) : null });
    }
    this.pending = null;
    this.emit({ e: 'linked', number, providers, exports: names });
    const name = C.LINK_EXPORTS[C.link];
    if (name === null) return C.OK;
    const patch = instance.exports[name];
    const ptype = exports.find((f) => f.name === name)?.type;
    if (typeof patch !== 'function' || !ptype || ptype.params.length || ptype.results.length) {
      this.emit({ e: 'no_patch', number, name,
        what: patch === undefined ? 'missing' : typeof patch !== 'function' ? 'not a function'
          : ptype, code: name === 'patch' ? 'NO_PATCH' : 'NO_RELOCS' });
      return C.PATCH_TRAPPED;
    }
    try {
      this.linkStage = 'export';
      patch();
    } catch (e) {
      if (!isTrap(e)) throw e;
      this.emit({ e: 'patch_trapped', number, trap: trapOf(e, this) });
      return C.PATCH_TRAPPED;
    }
    this.emit({ e: 'patched', number });
    return C.OK;
  }

  // ---------------------------------------------------------------- commands
  /** Call one of main's exports; a guarded call runs under the watchdog (no fuel in V8). */
  call(cmd) {
    const fn = this.main[cmd.name];
    const t0 = performance.now();
    let value = null, trap = null;
    try {
      if (cmd.guard) {
        this.ctx.fn = fn;
        this.ctx.args = cmd.args;
        value = vm.runInContext('fn(...args)', this.ctx, { timeout: this.timeout });
      } else {
        value = fn(...cmd.args);
      }
    } catch (e) {
      if (!isTrap(e)) throw e;
      trap = trapOf(e, this);
    }
    const elapsed = performance.now() - t0;
    return { value: value === undefined ? null : value, trap, elapsed_ms: elapsed };
  }

  run(cmd) {
    for (const [at, data] of cmd.writes ?? []) {
      // Python's own writes (arguments, bytecode): into memory and the shadow alike, so they
      // are not reported back as changes (Python's mirror has them already).
      const bytes = Buffer.from(data, 'base64');
      new Uint8Array(this.memory.buffer).set(bytes, at);
      this.shadow.set(bytes, at);
    }
    this.events = [];
    this.instantiateMs = 0;
    let out = {};
    if (cmd.op === 'call') out = this.call(cmd);
    else if (cmd.op === 'freeze_table') {
      // machine.freeze_table caps the store's table elements at the table's size; V8's
      // cap is this flag, read at each table.grow.
      v8.setFlagsFromString(`--wasm-max-table-size=${this.table.length}`);
    } else if (cmd.op !== 'sync') throw new Error(`unknown command ${cmd.op}`);
    return { ...out, events: this.events, sync: this.sync(), instantiate_ms: this.instantiateMs };
  }
}

// ------------------------------------------------------------------------- I/O
function* lines() {
  const buf = Buffer.alloc(1 << 16);
  let pending = Buffer.alloc(0);
  for (;;) {
    let n;
    try { n = fs.readSync(0, buf, 0, buf.length, null); } catch (e) {
      if (e.code === 'EAGAIN') continue;
      if (e.code === 'EOF') return;
      throw e;
    }
    if (n === 0) return;
    pending = Buffer.concat([pending, buf.subarray(0, n)]);
    let i;
    while ((i = pending.indexOf(10)) >= 0) {
      yield pending.subarray(0, i).toString();
      pending = pending.subarray(i + 1);
    }
  }
}

function send(obj) {
  const data = Buffer.from(JSON.stringify(obj) + '\n');
  let off = 0;
  while (off < data.length) {
    try { off += fs.writeSync(1, data, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; }
  }
}

let host = null;
for (const line of lines()) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line);
  try {
    if (cmd.op === 'init') {
      C = cmd.constants;
      host = new Host(cmd);
      send({ exports: host.mainExports, events: [], sync: host.sync(), globals: host.globals(),
        node: process.version, v8: process.versions.v8 });
    } else if (cmd.op === 'quit') {
      break;
    } else {
      send(host.run(cmd));
    }
  } catch (e) {
    send({ error: `${e?.name ?? 'Error'}: ${e?.message ?? e}`, events: host?.events ?? [] });
  }
}
