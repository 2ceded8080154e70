;; A toolchain-style JIT module, of the shape wingo/wasm-jit's interp.cc writes
;; (https://github.com/wingo/wasm-jit, WasmModuleBuilder::finish and
;; WasmMacroAssembler::emitRelocations, read at commit 00201717cf57): its only imports are
;; env.memory and env.__indirect_function_table, it exports nothing, its functions sit in one
;; PASSIVE element segment, and a START function links them while it is instantiated:
;; table.grow by the number of functions, one table.init from the segment to the old end of
;; the table, then one i32.store per function of (base + i) to an address the JIT embedded
;; as a constant. It sends no notes: the host sees what it did by reading the table and memory.
;;
;; What is ours: the body of the function (interp.cc's are Scheme closures taking (env,
;; heap) -> value; this one has main's $sig_1 = (x, self) -> i32, the same wasm type) and
;; the relocated address, 0x1000 = FUNCS_BASE: the code slot of the FIRST function object
;; main defines, as docs/abi.md's memory map says. A JIT embeds the addresses it knows.
;; The host binds the two imports by kind (the module's only memory, its only funcref table).
;;
;;   wasmviz trace --source wasmviz/data/modules/square.wv --call square 7 \
;;       --module wasmviz/data/modules/toolchain_start.wat
(module
  (type $jit_call (func (param i32 i32) (result i32)))
  (type $start (func))
  (import "env" "memory" (memory 0))
  (import "env" "__indirect_function_table" (table 0 funcref))
  (func $jit0 (type $jit_call) (param $x i32) (param $self i32) (result i32)
    (i32.mul (local.get $x) (local.get $x)))
  (func $link (type $start)
    (local $base i32)
    (local.set $base (table.grow 0 (ref.null func) (i32.const 1)))
    (table.init 0 0 (local.get $base) (i32.const 0) (i32.const 1))
    ;; relocation 0: the code slot of the function object at 0x1000
    (i32.store (i32.const 0x1000) (i32.add (local.get $base) (i32.const 0))))
  (start $link)
  (elem func $jit0))
