;; =============================================================================
;; main.wat -- a tiny VM that JIT-compiles itself, written by hand in WAT
;; =============================================================================
;;
;; This module is the whole virtual machine: a bytecode interpreter plus a
;; *template JIT*.  The contract with the Python host is docs/abi.md.
;;
;; How can a WebAssembly program JIT-compile?  It cannot jump into bytes it
;; wrote: wasm code and wasm data are strictly separate.  What it *can* do is
;; "late linking" (the technique Andy Wingo described for wasm JITs):
;;
;;   1. The JIT writes a complete, ordinary WebAssembly module -- header, type
;;      section, import section, ... code section -- as bytes into our own
;;      linear memory (at JIT_BUF).
;;   2. It asks the host to compile and instantiate those bytes
;;      (host.instantiate, i.e. WebAssembly.instantiate in a browser).  The new
;;      module IMPORTS our table and our memory, so the code in it operates on
;;      the same function objects, the same heap, the same table as we do.
;;   3. The host calls the new module's `patch` function.  `patch` grows our
;;      table (table.grow), puts its compiled functions into the new slots
;;      (table.set) and writes each slot number into the "code slot" of the
;;      corresponding function object in our memory -- a relocation, just like
;;      a native linker patching an address.
;;   4. From then on, anybody who calls that function reads its code slot and
;;      reaches the new machine code with call_indirect.  Nothing in this
;;      module was re-linked: the indirection through table + code slot is the
;;      "late" link.
;;
;; Step 3 is the "patch" link style.  The JIT can write two others instead
;; (set_link; section 11 shows all three side by side):
;;   start  the module's START FUNCTION does patch's work while the host is
;;          still instantiating it (table.grow, table.init from a passive
;;          element segment: one for the new slots, one per free slot reused;
;;          the relocations) -- wingo's wasm-jit links so;
;;   pic    position-independent, the way dynamic loaders link side modules:
;;          WE reserve the slots first ($load_pic), the host passes their base
;;          in as an imported global, an active element segment places the
;;          functions at instantiation, and the host then runs the module's
;;          __wasm_apply_data_relocs.  A dylink.0 section says how much room.
;;
;; Every function object therefore has two personalities: while its code slot
;; is 0 it runs in the interpreter below; once `patch` has written a slot it
;; runs as real wasm compiled by the engine.  Both obey one calling convention
;; (the self-pointer is passed LAST, see section 1), so compiled
;; code can call interpreted code and vice versa, and a function can change
;; tier in the middle of a running program.
;;
;; Sections of this file:
;;   1. Types and imports
;;   2. Memory map, table and globals
;;   3. Function objects (alloc, define, set_code)
;;   4. The interpreter
;;   5. Interpreter entries and invoke
;;   6. Tier-up policy (hotness counting, the queue)
;;   7. The JIT driver (jit_flush)
;;   8. Byte emitter and LEB128 helpers
;;   9. Section writers (header, type, import, function, export, element, code)
;;  10. The op-by-op translator
;;  11. The link writers (patch, start function, __wasm_apply_data_relocs)
;;  12. Faults (deliberate JIT bugs for the lessons)
;;  13. The life of code: redefinition frees slots, the JIT reuses them
;; =============================================================================

(module $main

  ;; ===========================================================================
  ;; 1. Types and imports
  ;; ===========================================================================
  ;;
  ;; Calling convention: a function of k parameters has type $sig_k =
  ;; (a0 .. a(k-1) self) -> i32.  `self` is the address of the callee's own
  ;; function object and comes LAST so that
  ;;   * one interpreter entry per arity can serve every function (it learns
  ;;     which bytecode to run from `self`), and
  ;;   * a caller can push the arguments first and decide only afterwards how
  ;;     it is going to call (compiled or interpreted).
  ;; The generated modules declare the very same five types as their types
  ;; 0..4; wasm compares function types structurally, so a call_indirect
  ;; (type $sig_k) in one module accepts a function of type k from another.

  (type $sig0 (func (param i32) (result i32)))
  (type $sig1 (func (param i32 i32) (result i32)))
  (type $sig2 (func (param i32 i32 i32) (result i32)))
  (type $sig3 (func (param i32 i32 i32 i32) (result i32)))
  (type $sig4 (func (param i32 i32 i32 i32 i32) (result i32)))

  ;; note(kind, a, b): "look now" -- the host records real memory/table state.
  ;; Kinds (docs/abi.md): 1 JIT_BEGIN 2 SECTION 3 JIT_END 4 HOT 5 JIT_DONE
  ;; 6 HEADER 7 CALLBACK 8 CALL 9 FLUSH 10 RESERVE 11 FREE 12 REUSE; a generated module's
  ;; link code (patch, start function, __wasm_apply_data_relocs) sends
  ;; 16 GROW 17 SET 18 RELOC 19 INIT.
  (import "host" "note" (func $note (param i32 i32 i32)))
  ;; instantiate(ptr, len) -> status: compile + link, then (link style
  ;; `patch`) run the module's `patch`; in style `start` the module's own
  ;; start function does that work while it is being instantiated.
  (import "host" "instantiate" (func $instantiate (param i32 i32) (result i32)))
  ;; instantiate_pic(ptr, len, table_base, memory_base) -> status: link style
  ;; `pic`, a dynamic loader's dlopen.  Main has already reserved the room;
  ;; the host passes the two bases in as the module's imported globals
  ;; env.__table_base and env.__memory_base, then runs its exported
  ;; __wasm_apply_data_relocs.
  (import "host" "instantiate_pic"
    (func $instantiate_pic (param i32 i32 i32 i32) (result i32)))

  ;; ===========================================================================
  ;; 2. Memory map, table and globals
  ;; ===========================================================================
  ;;
  ;;   0x00000..0x000FF  never written: address 0 is the null pointer
  ;;   0x00100..0x001FF  STATE_BASE   VM state block (fields below)
  ;;   0x00200..0x002FF  ARGS_BASE    arguments for invoke, written by the host
  ;;   0x00400..0x007FF  QUEUE_BASE   hot queue: up to 256 function objects
  ;;   0x00800..0x00BFF  FREE_BASE    free list: up to 256 freed table slots
  ;;   0x00C00..0x00FFF  MODULE_OF    per function object: the module that
  ;;                                  calls it directly (section 13)
  ;;   0x01000..0x02FFF  FUNCS_BASE   256 function objects of 32 bytes
  ;;   0x03000..0x0FFFF  HEAP         names and bytecode (bump allocator)
  ;;   0x10000..0x1FFFF  VSTACK       the interpreter's value stack
  ;;   0x20000..0x7FFFF  JIT_BUF      where each generated module is written
  ;;
  ;; VM state block -- written with literal addresses in the code below:
  ;;   0x100 number of functions      0x114 countdown to the next flush
  ;;   0x104 heap pointer             0x118 JIT enabled (0/1)
  ;;   0x108 queue length             0x11C fault mode
  ;;   0x10C tier-up threshold        0x120 number of modules generated
  ;;   0x110 batch window             0x124 last instantiate status
  ;;   0x128 direct calls within a batch (0/1)
  ;;   0x12C callback notes left in this top-level call (see $entered)
  ;;   0x130 free-list length         0x134 slots freed so far
  ;;   0x138 slots reused so far (section 13)
  ;;
  ;; Everything the host shows is read from here, which is why the state is
  ;; kept in memory rather than in wasm globals: memory is what the generated
  ;; modules and the host can see.

  (memory $memory (export "memory") 8)

  ;; The table is how code reaches code.  Slot 0 stays null forever, so a
  ;; code slot of 0 can mean "not compiled".  Slots 1..5 hold the interpreter
  ;; entries (slot 1 + k serves arity k).  Every JIT batch appends slots, or
  ;; reuses the slots of redefined functions (section 13).
  ;; No maximum: only the host's store limits can stop it growing.
  (table $table (export "table") 6 funcref)
  (elem (i32.const 1) func $enter0 $enter1 $enter2 $enter3 $enter4)

  ;; The memory map, exported so that the host never hard-codes it.
  (global $FUNCS_BASE  (export "FUNCS_BASE")  i32 (i32.const 0x01000))
  (global $FUNC_SIZE   (export "FUNC_SIZE")   i32 (i32.const 32))
  (global $MAX_FUNCS   (export "MAX_FUNCS")   i32 (i32.const 256))
  (global $STATE_BASE  (export "STATE_BASE")  i32 (i32.const 0x00100))
  (global $ARGS_BASE   (export "ARGS_BASE")   i32 (i32.const 0x00200))
  (global $QUEUE_BASE  (export "QUEUE_BASE")  i32 (i32.const 0x00400))
  (global $HEAP_BASE   (export "HEAP_BASE")   i32 (i32.const 0x03000))
  (global $HEAP_END    (export "HEAP_END")    i32 (i32.const 0x10000))
  (global $VSTACK_BASE (export "VSTACK_BASE") i32 (i32.const 0x10000))
  (global $VSTACK_END  (export "VSTACK_END")  i32 (i32.const 0x20000))
  (global $JIT_BUF     (export "JIT_BUF")     i32 (i32.const 0x20000))
  (global $JIT_BUF_END (export "JIT_BUF_END") i32 (i32.const 0x80000))
  (global $ENTRY_SLOT0 (export "ENTRY_SLOT0") i32 (i32.const 1))
  (global $MAX_PARAMS  (export "MAX_PARAMS")  i32 (i32.const 4))
  (global $FREE_BASE   (export "FREE_BASE")   i32 (i32.const 0x00800))
  (global $MAX_FREE    (export "MAX_FREE")    i32 (i32.const 256))
  (global $MODULE_OF   (export "MODULE_OF")   i32 (i32.const 0x00C00))

  ;; First free byte of the value stack *as far as callees are concerned*.
  ;; An interpreter frame keeps its stack pointer in a local (fast), and
  ;; publishes it here only before it calls compiled code: that compiled
  ;; code may call back into an interpreter entry, which must build its frame
  ;; ABOVE the values that are still live below it.  Exported (read-only for
  ;; the host) so that, at a CALLBACK note, the host can read the arguments the
  ;; entry has just put at $vsp.
  (global $vsp (export "vsp") (mut i32) (i32.const 0x10000))

  ;; The JIT's write cursor inside JIT_BUF.
  (global $out (mut i32) (i32.const 0x20000))

  ;; How many queued functions the batch being written holds (QUEUE_BASE[0..n)).
  (global $batch_n (mut i32) (i32.const 0))

  ;; The link style: how each generated module gets its code into our table
  ;; (section 11).  0 patch: an exported `patch` the host calls after
  ;; instantiation; 1 start: the module's start function, during
  ;; instantiation; 2 pic: position-independent, as a dynamic loader does it.
  ;; Set by the host before any JIT run (set_link) and exported so that the
  ;; host reads the style main really used.
  (global $link (export "link") (mut i32) (i32.const 0))

  ;; The slots the batch being written reuses (section 13): batch members
  ;; 0..$reuse_k-1 get the free-list entries FREE_BASE[$reuse_at + i], which
  ;; main has taken off the list (the list's length is now $reuse_at, so the
  ;; entries stay where they were until something is freed again).
  (global $reuse_k (mut i32) (i32.const 0))
  (global $reuse_at (mut i32) (i32.const 0))

  ;; Bytes of memory a pic module asks for (dylink.0's memorysize): it has no
  ;; data segment, so none.  Written into dylink.0 and reserved by $load_pic
  ;; from this one constant, so the two cannot disagree.
  (global $PIC_DATA_SIZE i32 (i32.const 0))

  ;; Start function: the initial VM state.  These defaults make tier-up work
  ;; out of the box; the host normally calls `configure` anyway.
  (func $init
    (i32.store (i32.const 0x104) (global.get $HEAP_BASE))  ;; heap pointer
    (i32.store (i32.const 0x10C) (i32.const 1000))         ;; threshold
    (i32.store (i32.const 0x110) (i32.const 100))          ;; window
    (i32.store (i32.const 0x118) (i32.const 1))            ;; JIT enabled
    (i32.store (i32.const 0x128) (i32.const 1))            ;; direct calls in a batch
    (i32.store (i32.const 0x124) (i32.const -1))           ;; no status yet
    (i32.store (i32.const 0x12C) (i32.const 0)))           ;; no callback notes
  (start $init)

  ;; ===========================================================================
  ;; 3. Function objects
  ;; ===========================================================================
  ;;
  ;; A function object is 32 bytes in memory:
  ;;   +0  code slot    table index of the compiled code; 0 = not compiled
  ;;   +4  bytecode pointer          +8  bytecode length
  ;;   +12 parameter count           +16 call count (interpreted calls)
  ;;   +20 state: 0 cold, 1 hot/queued, 2 compiled, 3 failed to compile
  ;;   +24 name pointer              +28 name length
  ;; The code slot is at offset 0 so that the JIT's call template can load it
  ;; with a plain `i32.load` of the object's address.  It is the one word that
  ;; `patch` relocates.

  ;; Bump allocator for names and bytecode.  Nothing is ever freed: a program
  ;; lives as long as the store does.
  (func $alloc (export "alloc") (param $size i32) (result i32)
    (local $p i32) (local $next i32)
    ;; unsigned tests, so that absurd sizes cannot wrap the pointer around
    (if (i32.gt_u (local.get $size)
                  (i32.sub (global.get $HEAP_END) (global.get $HEAP_BASE)))
      (then (return (i32.const 0))))
    (local.set $p (i32.load (i32.const 0x104)))
    (local.set $next
      (i32.add (local.get $p)
               (i32.and (i32.add (local.get $size) (i32.const 3)) (i32.const -4))))
    (if (i32.gt_u (local.get $next) (global.get $HEAP_END))
      (then (return (i32.const 0))))
    (i32.store (i32.const 0x104) (local.get $next))
    (local.get $p))

  (func $define (export "define")
        (param $nparams i32) (param $name_ptr i32) (param $name_len i32) (result i32)
    (local $n i32) (local $f i32)
    (local.set $n (i32.load (i32.const 0x100)))
    (if (i32.or (i32.ge_u (local.get $n) (global.get $MAX_FUNCS))
                (i32.gt_u (local.get $nparams) (global.get $MAX_PARAMS)))
      (then (return (i32.const 0))))
    (local.set $f (i32.add (global.get $FUNCS_BASE)
                           (i32.mul (local.get $n) (global.get $FUNC_SIZE))))
    (memory.fill (local.get $f) (i32.const 0) (global.get $FUNC_SIZE))
    (i32.store offset=12 (local.get $f) (local.get $nparams))
    (i32.store offset=24 (local.get $f) (local.get $name_ptr))
    (i32.store offset=28 (local.get $f) (local.get $name_len))
    (i32.store (i32.const 0x100) (i32.add (local.get $n) (i32.const 1)))
    (local.get $f))

  (func $set_code (export "set_code") (param $f i32) (param $code i32) (param $len i32)
    (i32.store offset=4 (local.get $f) (local.get $code))
    (i32.store offset=8 (local.get $f) (local.get $len)))

  ;; ===========================================================================
  ;; 4. The interpreter
  ;; ===========================================================================
  ;;
  ;; Bytecode: one opcode byte, some followed by an i32 immediate (LE).
  ;;   0 RET  1 CONST v  2 ARG i  3 ADD 4 SUB 5 MUL 6 DIV 7 REM
  ;;   8 EQ 9 NE 10 LT 11 GT 12 LE 13 GE  14 IF else_off  15 ELSE end_off
  ;;   16 END  17 CALL callee_object
  ;;
  ;; Frame layout on the value stack (which grows upwards in memory):
  ;;   fp+0 .. fp+4(k-1)   the k arguments (ARG i reads fp + 4i)
  ;;   above them          the operand stack; $sp points AT the top value
  ;; Pointing at the top value (rather than past it) lets a binary operator
  ;; read its second operand with a positive memarg offset (offset=4).
  ;;
  ;; Interpreted callees are run by a direct recursive `call $interp`: their
  ;; arguments are already in place on top of our stack, so the callee's
  ;; frame simply starts there (no copying).  Compiled callees are reached
  ;; with call_indirect through their code slot, exactly like JIT code does.
  ;;
  ;; DIV and REM use i32.div_s / i32.rem_s, so they trap exactly when the
  ;; compiled code traps (division by zero, INT_MIN / -1).
  ;;
  ;; Only CONST, ARG and a CALL of a 0-ary function make the stack grow, so
  ;; only they check for overflow: past VSTACK_END lies JIT_BUF, and a silent
  ;; overflow would scribble over generated code -- better to trap
  ;; (`unreachable`).

  (func $interp (param $self i32) (param $fp i32) (result i32)
    (local $code i32) (local $pc i32) (local $sp i32) (local $calls i32)
    (local $g i32) (local $slot i32) (local $base i32) (local $r i32)

    ;; --- tier-up bookkeeping: every interpreted entry is counted ---------
    (local.set $calls (i32.add (i32.load offset=16 (local.get $self)) (i32.const 1)))
    (i32.store offset=16 (local.get $self) (local.get $calls))
    (if (i32.eq (local.get $calls) (i32.load (i32.const 0x10C)))     ;; threshold
      (then (call $tier_up (local.get $self) (local.get $calls))))
    (if (i32.load (i32.const 0x108))                                  ;; queue length
      (then (call $tick)))

    (local.set $code (i32.load offset=4 (local.get $self)))
    (local.set $pc (local.get $code))
    ;; empty operand stack: $sp points at the last argument (or just below fp)
    (local.set $sp
      (i32.sub (i32.add (local.get $fp)
                        (i32.shl (i32.load offset=12 (local.get $self)) (i32.const 2)))
               (i32.const 4)))

    (loop $next
      (block $bad
      (block $call (block $end (block $else (block $if
      (block $ge (block $le (block $gt (block $lt (block $ne (block $eq
      (block $rem (block $div (block $mul (block $sub (block $add
      (block $arg (block $const (block $ret
        ;; one indirect jump per instruction: the opcode indexes the table
        (br_table $ret $const $arg $add $sub $mul $div $rem
                  $eq $ne $lt $gt $le $ge $if $else $end $call $bad
          (i32.load8_u (local.get $pc))))
      ;; ---- 0 RET
      (return (i32.load (local.get $sp))))
      ;; ---- 1 CONST v
      (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
      (if (i32.ge_u (local.get $sp) (global.get $VSTACK_END)) (then unreachable))
      (i32.store (local.get $sp) (i32.load offset=1 (local.get $pc)))
      (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
      (br $next))
      ;; ---- 2 ARG i
      (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
      (if (i32.ge_u (local.get $sp) (global.get $VSTACK_END)) (then unreachable))
      (i32.store (local.get $sp)
        (i32.load (i32.add (local.get $fp)
                           (i32.shl (i32.load offset=1 (local.get $pc)) (i32.const 2)))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
      (br $next))
      ;; ---- 3..13 binary operators: pop b, pop a, push (a op b)
      ;; ---- 3 ADD
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.add (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 4 SUB
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.sub (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 5 MUL
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.mul (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 6 DIV (traps like wasm, because it IS wasm's division)
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.div_s (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 7 REM
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.rem_s (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 8 EQ
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.eq (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 9 NE
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.ne (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 10 LT
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.lt_s (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 11 GT
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.gt_s (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 12 LE
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.le_s (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 13 GE
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (i32.store (local.get $sp)
        (i32.ge_s (i32.load (local.get $sp)) (i32.load offset=4 (local.get $sp))))
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 14 IF else_off: pop; on 0 jump to the else branch
      (local.set $sp (i32.sub (local.get $sp) (i32.const 4)))
      (if (i32.load offset=4 (local.get $sp))
        (then (local.set $pc (i32.add (local.get $pc) (i32.const 5))))
        (else (local.set $pc (i32.add (local.get $code)
                                      (i32.load offset=1 (local.get $pc))))))
      (br $next))
      ;; ---- 15 ELSE end_off: the then-branch is done, skip the else-branch
      (local.set $pc (i32.add (local.get $code) (i32.load offset=1 (local.get $pc))))
      (br $next))
      ;; ---- 16 END: only a marker (it matters to the JIT, not to us)
      (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
      (br $next))
      ;; ---- 17 CALL g: the k arguments are the top k values
      (local.set $g (i32.load offset=1 (local.get $pc)))
      (local.set $base                  ;; address of argument 0
        (i32.sub (i32.add (local.get $sp) (i32.const 4))
                 (i32.shl (i32.load offset=12 (local.get $g)) (i32.const 2))))
      (local.set $slot (i32.load (local.get $g)))       ;; g's code slot
      (if (local.get $slot)
        (then
          ;; compiled: let callbacks into the interpreter start above us
          (global.set $vsp (i32.add (local.get $sp) (i32.const 4)))
          (local.set $r (call $call_slot (local.get $g) (local.get $slot)
                                         (i32.load offset=12 (local.get $g))
                                         (local.get $base))))
        (else
          ;; interpreted: the callee's frame starts at its arguments
          (local.set $r (call $interp (local.get $g) (local.get $base)))))
      ;; pop k arguments, push the result (k = 0 pushes one more value)
      (local.set $sp (local.get $base))
      (if (i32.ge_u (local.get $sp) (global.get $VSTACK_END)) (then unreachable))
      (i32.store (local.get $sp) (local.get $r))
      (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
      (br $next))
      ;; ---- unknown opcode
      unreachable)
    unreachable)

  ;; Call compiled code: load the k arguments from memory at $base and
  ;; call_indirect through the code slot with the function's EXACT type.
  ;; The engine checks that type at run time: a mismatch traps with "indirect
  ;; call type mismatch" (fault mode 2 shows this).
  (func $call_slot (param $g i32) (param $slot i32) (param $k i32) (param $base i32)
                   (result i32)
    (block $k4 (block $k3 (block $k2 (block $k1 (block $k0
      (br_table $k0 $k1 $k2 $k3 $k4 $k4 (local.get $k)))
      (return (call_indirect $table (type $sig0)
                (local.get $g) (local.get $slot))))
      (return (call_indirect $table (type $sig1)
                (i32.load (local.get $base))
                (local.get $g) (local.get $slot))))
      (return (call_indirect $table (type $sig2)
                (i32.load (local.get $base)) (i32.load offset=4 (local.get $base))
                (local.get $g) (local.get $slot))))
      (return (call_indirect $table (type $sig3)
                (i32.load (local.get $base)) (i32.load offset=4 (local.get $base))
                (i32.load offset=8 (local.get $base))
                (local.get $g) (local.get $slot))))
    (call_indirect $table (type $sig4)
      (i32.load (local.get $base)) (i32.load offset=4 (local.get $base))
      (i32.load offset=8 (local.get $base)) (i32.load offset=12 (local.get $base))
      (local.get $g) (local.get $slot)))

  ;; ===========================================================================
  ;; 5. Interpreter entries and invoke
  ;; ===========================================================================
  ;;
  ;; enter_k has the calling-convention type $sig_k, so it can sit in a table
  ;; slot (1 + k) and be called by compiled code exactly as if it were a
  ;; compiled function.  It moves the wasm arguments onto the value stack at
  ;; $vsp (above every live interpreter value) and interprets `self`.
  ;;
  ;; Only JIT code ever calls an entry: main itself interprets a function
  ;; that is not compiled by calling $interp directly, and a code slot is
  ;; never 1..5 (patch relocates to the slots it grew).  So an entry is the
  ;; exact place where compiled code calls BACK into the interpreter, and it
  ;; tells the host so (note CALLBACK), within a budget the host sets:
  ;;
  ;; $entered: counts the callback down in 0x12C and notes it while the
  ;; budget was positive.  The host writes the budget before each top-level
  ;; call (0 when it is not recording), so a callee that JIT code calls a
  ;; million times costs a million decrements, not a million host calls;
  ;; afterwards, a negative count says how many callbacks were not noted.

  (func $entered (param $self i32) (param $slot i32)
    (local $left i32)
    (local.set $left (i32.load (i32.const 0x12C)))
    (i32.store (i32.const 0x12C) (i32.sub (local.get $left) (i32.const 1)))
    (if (i32.gt_s (local.get $left) (i32.const 0))
      (then (call $note (i32.const 7) (local.get $self) (local.get $slot)))))  ;; CALLBACK

  (func $enter0 (export "enter0") (type $sig0) (param $self i32) (result i32)
    (local $fp i32) (local $r i32)
    (local.set $fp (global.get $vsp))
    (call $entered (local.get $self) (i32.const 1))
    (local.set $r (call $interp (local.get $self) (local.get $fp)))
    (global.set $vsp (local.get $fp))
    (local.get $r))

  (func $enter1 (export "enter1") (type $sig1)
        (param $a0 i32) (param $self i32) (result i32)
    (local $fp i32) (local $r i32)
    (local.set $fp (global.get $vsp))
    (if (i32.gt_u (i32.add (local.get $fp) (i32.const 4)) (global.get $VSTACK_END))
      (then unreachable))
    (i32.store (local.get $fp) (local.get $a0))
    (call $entered (local.get $self) (i32.const 2))
    (local.set $r (call $interp (local.get $self) (local.get $fp)))
    (global.set $vsp (local.get $fp))
    (local.get $r))

  (func $enter2 (export "enter2") (type $sig2)
        (param $a0 i32) (param $a1 i32) (param $self i32) (result i32)
    (local $fp i32) (local $r i32)
    (local.set $fp (global.get $vsp))
    (if (i32.gt_u (i32.add (local.get $fp) (i32.const 8)) (global.get $VSTACK_END))
      (then unreachable))
    (i32.store (local.get $fp) (local.get $a0))
    (i32.store offset=4 (local.get $fp) (local.get $a1))
    (call $entered (local.get $self) (i32.const 3))
    (local.set $r (call $interp (local.get $self) (local.get $fp)))
    (global.set $vsp (local.get $fp))
    (local.get $r))

  (func $enter3 (export "enter3") (type $sig3)
        (param $a0 i32) (param $a1 i32) (param $a2 i32) (param $self i32) (result i32)
    (local $fp i32) (local $r i32)
    (local.set $fp (global.get $vsp))
    (if (i32.gt_u (i32.add (local.get $fp) (i32.const 12)) (global.get $VSTACK_END))
      (then unreachable))
    (i32.store (local.get $fp) (local.get $a0))
    (i32.store offset=4 (local.get $fp) (local.get $a1))
    (i32.store offset=8 (local.get $fp) (local.get $a2))
    (call $entered (local.get $self) (i32.const 4))
    (local.set $r (call $interp (local.get $self) (local.get $fp)))
    (global.set $vsp (local.get $fp))
    (local.get $r))

  (func $enter4 (export "enter4") (type $sig4)
        (param $a0 i32) (param $a1 i32) (param $a2 i32) (param $a3 i32) (param $self i32)
        (result i32)
    (local $fp i32) (local $r i32)
    (local.set $fp (global.get $vsp))
    (if (i32.gt_u (i32.add (local.get $fp) (i32.const 16)) (global.get $VSTACK_END))
      (then unreachable))
    (i32.store (local.get $fp) (local.get $a0))
    (i32.store offset=4 (local.get $fp) (local.get $a1))
    (i32.store offset=8 (local.get $fp) (local.get $a2))
    (i32.store offset=12 (local.get $fp) (local.get $a3))
    (call $entered (local.get $self) (i32.const 5))
    (local.set $r (call $interp (local.get $self) (local.get $fp)))
    (global.set $vsp (local.get $fp))
    (local.get $r))

  ;; The host's top-level call.  Arguments were written at ARGS_BASE.
  (func $invoke (export "invoke") (param $f i32) (result i32)
    (local $k i32) (local $slot i32)
    ;; A fresh run owns the whole value stack (a trap may have left $vsp high).
    (global.set $vsp (global.get $VSTACK_BASE))
    ;; Pending hot functions are compiled first, so this run can use them.
    ;; FLUSH tells the host why a batch starts before the call does.
    (if (i32.and (i32.ne (i32.load (i32.const 0x108)) (i32.const 0))    ;; queue
                 (i32.ne (i32.load (i32.const 0x118)) (i32.const 0)))   ;; JIT on
      (then
        (call $note (i32.const 9) (local.get $f) (i32.load (i32.const 0x108)))  ;; FLUSH
        (drop (call $jit_flush))))
    (local.set $k (i32.load offset=12 (local.get $f)))
    ;; The code slot is read once, here, after any flush: this is the slot the
    ;; call uses, and CALL reports exactly it (the host never guesses it).
    (local.set $slot (i32.load (local.get $f)))
    (call $note (i32.const 8) (local.get $f) (local.get $slot))          ;; CALL
    (if (local.get $slot)
      (then (return (call $call_slot (local.get $f) (local.get $slot) (local.get $k)
                                     (global.get $ARGS_BASE)))))
    ;; not compiled: copy the arguments onto the value stack and interpret
    (memory.copy (global.get $VSTACK_BASE) (global.get $ARGS_BASE)
                 (i32.shl (local.get $k) (i32.const 2)))
    (call $interp (local.get $f) (global.get $VSTACK_BASE)))

  ;; ===========================================================================
  ;; 6. Tier-up policy
  ;; ===========================================================================
  ;;
  ;; A function that reaches `threshold` interpreted calls becomes hot and is
  ;; queued.  We do not compile it at once: the first hot function starts a
  ;; countdown of `window` interpreted calls, and whatever else gets hot
  ;; during that window joins the same batch.  One module per batch means
  ;; one compile + instantiate for many functions -- and functions that call
  ;; each other get compiled together.

  (func $tier_up (param $f i32) (param $calls i32)
    (if (i32.and (i32.eqz (i32.load offset=20 (local.get $f)))         ;; cold
                 (i32.ne (i32.load (i32.const 0x118)) (i32.const 0)))  ;; JIT on
      (then
        (call $make_hot (local.get $f))
        (call $note (i32.const 4) (local.get $f) (local.get $calls))))) ;; HOT

  ;; Append to the queue; the first one in an empty queue starts the window.
  (func $make_hot (param $f i32)
    (local $q i32)
    (i32.store offset=20 (local.get $f) (i32.const 1))                 ;; hot
    (local.set $q (i32.load (i32.const 0x108)))
    (i32.store (i32.add (global.get $QUEUE_BASE) (i32.shl (local.get $q) (i32.const 2)))
               (local.get $f))
    (i32.store (i32.const 0x108) (i32.add (local.get $q) (i32.const 1)))
    (if (i32.eqz (local.get $q))
      (then (i32.store (i32.const 0x114) (i32.load (i32.const 0x110))))))

  ;; One interpreted entry while the queue waits: count down, flush at 0.
  (func $tick
    (local $c i32)
    (if (i32.eqz (i32.load (i32.const 0x118))) (then (return)))        ;; JIT off
    (local.set $c (i32.sub (i32.load (i32.const 0x114)) (i32.const 1)))
    (i32.store (i32.const 0x114) (local.get $c))
    (if (i32.le_s (local.get $c) (i32.const 0))
      (then (drop (call $jit_flush)))))

  ;; "JIT now": queue a function by hand.  A function that failed to compile
  ;; (state 3) counts as cold again, so it can be retried after a fault is
  ;; switched off.  Queued or compiled functions, and functions without
  ;; bytecode, are left alone.
  (func $enqueue (export "enqueue") (param $f i32)
    (local $state i32)
    (local.set $state (i32.load offset=20 (local.get $f)))
    (if (i32.and (i32.or (i32.eqz (local.get $state))
                         (i32.eq (local.get $state) (i32.const 3)))
                 (i32.ne (i32.load offset=4 (local.get $f)) (i32.const 0)))
      (then (call $make_hot (local.get $f)))))

  (func $configure (export "configure")
        (param $threshold i32) (param $window i32) (param $jit_enabled i32)
    (i32.store (i32.const 0x10C) (local.get $threshold))
    (i32.store (i32.const 0x110) (local.get $window))
    (i32.store (i32.const 0x118) (i32.ne (local.get $jit_enabled) (i32.const 0))))

  ;; ===========================================================================
  ;; 7. The JIT driver
  ;; ===========================================================================
  ;;
  ;; jit_flush compiles a batch -- the front of the queue -- into ONE module:
  ;;   note JIT_BEGIN; write the module; note JIT_END; host.instantiate;
  ;;   record the outcome; note JIT_DONE.
  ;; The batch functions stay in the queue while the module is being written
  ;; (the section writers read them from QUEUE_BASE), and are removed after.

  (func $jit_flush (export "jit_flush") (result i32)
    (local $qlen i32) (local $n i32) (local $budget i32) (local $cost i32)
    (local $f i32) (local $i i32) (local $len i32) (local $status i32)
    (local.set $qlen (i32.load (i32.const 0x108)))
    (if (i32.eqz (local.get $qlen)) (then (return (i32.const -1))))

    ;; --- choose the batch: as many queued functions as surely fit --------
    ;; Cost estimate per function, deliberately generous: the worst op (CALL,
    ;; 5 bytecode bytes) becomes 25 wasm bytes, so 6 bytes per bytecode byte;
    ;; plus its name (export) and 256 bytes for its share of the function,
    ;; export, element sections and of `patch` (about 90 bytes really).
    ;; The whole heap at that rate still fits, so the first function always
    ;; fits; the rest wait for the next batch.
    (local.set $budget (i32.sub (i32.sub (global.get $JIT_BUF_END) (global.get $JIT_BUF))
                                (i32.const 1024)))     ;; header, types, imports
    (block $full
      (loop $more
        (br_if $full (i32.ge_u (local.get $n) (local.get $qlen)))
        (local.set $f (call $queued (local.get $n)))
        (local.set $cost
          (i32.add (i32.add (i32.mul (i32.load offset=8 (local.get $f)) (i32.const 6))
                            (i32.load offset=28 (local.get $f)))
                   (i32.const 256)))
        (br_if $full (i32.and (i32.ne (local.get $n) (i32.const 0))
                              (i32.gt_s (local.get $cost) (local.get $budget))))
        (local.set $budget (i32.sub (local.get $budget) (local.get $cost)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))

    (global.set $batch_n (local.get $n))
    (call $note (i32.const 1) (local.get $n) (global.get $JIT_BUF))   ;; JIT_BEGIN

    ;; --- which slots: freed ones first (section 13) -----------------------
    ;; patch and start: main takes free slots off its list NOW, and writes
    ;; their numbers into the link code as constants; only the rest is grown.
    ;; pic: the module stays position-independent; $load_pic reuses a run.
    (global.set $reuse_k (i32.const 0))
    (if (i32.ne (global.get $link) (i32.const 2))
      (then (call $take_free (local.get $n))))

    ;; --- write the module, section by section, in the required order -----
    (global.set $out (global.get $JIT_BUF))
    (call $write_header)
    (if (i32.eq (global.get $link) (i32.const 2))              ;; pic
      (then (call $write_dylink_section (local.get $n))))        ;; first
    (call $write_type_section)
    (call $write_import_section)
    (call $write_function_section (local.get $n))
    (call $write_export_section (local.get $n))
    (if (i32.eq (global.get $link) (i32.const 1))              ;; start
      (then (call $write_start_section (local.get $n))))
    (call $write_element_section (local.get $n))
    (call $write_code_section (local.get $n))
    (local.set $len (i32.sub (global.get $out) (global.get $JIT_BUF)))
    (call $note (i32.const 3) (global.get $JIT_BUF) (local.get $len)) ;; JIT_END

    ;; --- late linking happens here: compile, instantiate, link -----------
    ;; patch and start: the host instantiates, and the module links itself
    ;; (its `patch` afterwards, or its start function during instantiation).
    ;; pic: main first reserves the room the module asks for ($load_pic).
    (local.set $status
      (if (result i32) (i32.eq (global.get $link) (i32.const 2))
        (then (call $load_pic (local.get $n) (local.get $len)))
        (else (call $instantiate (global.get $JIT_BUF) (local.get $len)))))

    ;; --- record the outcome ----------------------------------------------
    (i32.store (i32.const 0x124) (local.get $status))
    (i32.store (i32.const 0x120) (i32.add (i32.load (i32.const 0x120)) (i32.const 1)))
    ;; Success: compiled.  Otherwise the functions stay interpreted; their
    ;; code slots are whatever the link code (patch, start function or
    ;; __wasm_apply_data_relocs) managed to write before it failed (nothing,
    ;; if it never ran), and the reused slots still empty go back on the free
    ;; list ($give_back).  On success, MODULE_OF remembers which module's
    ;; functions call each other directly (section 13).
    (if (local.get $status) (then (call $give_back)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store offset=20 (call $queued (local.get $i))
          (select (i32.const 2) (i32.const 3) (i32.eqz (local.get $status))))
        (if (i32.eqz (local.get $status))
          (then
            (i32.store (call $module_of_at (call $queued (local.get $i)))
              (select (i32.load (i32.const 0x120)) (i32.const 0) (call $direct_on)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (global.set $reuse_k (i32.const 0))
    ;; drop the batch from the front of the queue
    (memory.copy (global.get $QUEUE_BASE)
                 (i32.add (global.get $QUEUE_BASE) (i32.shl (local.get $n) (i32.const 2)))
                 (i32.shl (i32.sub (local.get $qlen) (local.get $n)) (i32.const 2)))
    (i32.store (i32.const 0x108) (i32.sub (local.get $qlen) (local.get $n)))
    ;; leftovers get a fresh window of their own
    (if (i32.gt_u (local.get $qlen) (local.get $n))
      (then (i32.store (i32.const 0x114) (i32.load (i32.const 0x110)))))
    (call $note (i32.const 5) (local.get $status) (local.get $n))     ;; JIT_DONE
    (local.get $status))

  ;; Link style pic: what a dynamic loader does BEFORE it instantiates a
  ;; side module.  The module's dylink.0 section (section 9) says how much
  ;; room it needs: n table slots, and $PIC_DATA_SIZE bytes of memory.  Main
  ;; reserves both, then asks the host to instantiate the module AT those
  ;; bases; the module's active element segment, placed at __table_base,
  ;; fills the reserved slots as part of instantiation.  The module was
  ;; written without knowing the bases: that is what position-independent
  ;; means.  Status 4: no room, so the module was never instantiated.
  (func $load_pic (param $n i32) (param $len i32) (result i32)
    (local $table_base i32) (local $memory_base i32)
    ;; the slots: n freed slots in a row if the free list has them (section
    ;; 13: the module needs no change, it is position-independent) ...
    (local.set $table_base (call $take_run (local.get $n)))
    ;; the memory: the module has no data, so this reserves 0 bytes and the
    ;; base is simply where the heap's next allocation starts
    (local.set $memory_base (call $alloc (global.get $PIC_DATA_SIZE)))
    (if (i32.eq (local.get $table_base) (i32.const -1))
      (then
        ;; ... else new ones: table.grow returns the first new index, -1 if
        ;; the store refuses to grow the table
        (local.set $table_base (table.grow $table (ref.null func) (local.get $n)))
        (call $note (i32.const 10) (local.get $table_base) (local.get $n)) ;; RESERVE
        (if (i32.eq (local.get $table_base) (i32.const -1))
          (then (return (i32.const 4))))))
    (call $instantiate_pic (global.get $JIT_BUF) (local.get $len)
                           (local.get $table_base) (local.get $memory_base)))

  ;; The i-th queued function object (batch member i).
  (func $queued (param $i i32) (result i32)
    (i32.load (i32.add (global.get $QUEUE_BASE) (i32.shl (local.get $i) (i32.const 2)))))

  ;; ===========================================================================
  ;; 8. Byte emitter and LEB128 helpers
  ;; ===========================================================================
  ;;
  ;; The wasm binary format stores integers as LEB128: 7 bits per byte, low
  ;; bits first, high bit set on every byte but the last.  Counts, indices and
  ;; i32.const immediates are written minimally.  Section and body SIZES come
  ;; before their contents, which we do not know yet, so we reserve 5 bytes
  ;; and back-patch them afterwards with a fixed-width 5-byte LEB128 (padding
  ;; bytes 0x80, which the format allows for any u32).

  (func $emit (param $byte i32)
    (i32.store8 (global.get $out) (local.get $byte))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  ;; minimal unsigned LEB128 (counts, indices, sizes of names)
  (func $emit_u32 (param $v i32)
    (loop $more
      (if (i32.ge_u (local.get $v) (i32.const 0x80))
        (then
          (call $emit (i32.or (i32.and (local.get $v) (i32.const 0x7F)) (i32.const 0x80)))
          (local.set $v (i32.shr_u (local.get $v) (i32.const 7)))
          (br $more))))
    (call $emit (local.get $v)))

  ;; minimal signed LEB128 (i32.const immediates): stop once the rest of the
  ;; value is pure sign extension of the bit 6 just written
  (func $emit_s32 (param $v i32)
    (local $byte i32)
    (loop $more
      (local.set $byte (i32.and (local.get $v) (i32.const 0x7F)))
      (local.set $v (i32.shr_s (local.get $v) (i32.const 7)))
      (if (i32.or
            (i32.and (i32.eqz (local.get $v))
                     (i32.eqz (i32.and (local.get $byte) (i32.const 0x40))))
            (i32.and (i32.eq (local.get $v) (i32.const -1))
                     (i32.ne (i32.and (local.get $byte) (i32.const 0x40)) (i32.const 0))))
        (then (call $emit (local.get $byte)) (return)))
      (call $emit (i32.or (local.get $byte) (i32.const 0x80)))
      (br $more)))

  ;; reserve room for a size we will know later; returns where it goes
  (func $reserve5 (result i32)
    (local $at i32)
    (local.set $at (global.get $out))
    (global.set $out (i32.add (global.get $out) (i32.const 5)))
    (local.get $at))

  ;; back-patch: the number of bytes written after the 5 reserved ones
  (func $patch_size (param $at i32)
    (local $v i32)
    (local.set $v (i32.sub (global.get $out) (i32.add (local.get $at) (i32.const 5))))
    (i32.store8 offset=0 (local.get $at)
      (i32.or (i32.and (local.get $v) (i32.const 0x7F)) (i32.const 0x80)))
    (i32.store8 offset=1 (local.get $at)
      (i32.or (i32.and (i32.shr_u (local.get $v) (i32.const 7)) (i32.const 0x7F)) (i32.const 0x80)))
    (i32.store8 offset=2 (local.get $at)
      (i32.or (i32.and (i32.shr_u (local.get $v) (i32.const 14)) (i32.const 0x7F)) (i32.const 0x80)))
    (i32.store8 offset=3 (local.get $at)
      (i32.or (i32.and (i32.shr_u (local.get $v) (i32.const 21)) (i32.const 0x7F)) (i32.const 0x80)))
    (i32.store8 offset=4 (local.get $at)
      (i32.shr_u (local.get $v) (i32.const 28))))

  ;; a name: its length, then its UTF-8 bytes (copied from anywhere in memory)
  (func $emit_name (param $ptr i32) (param $len i32)
    (call $emit_u32 (local.get $len))
    (memory.copy (global.get $out) (local.get $ptr) (local.get $len))
    (global.set $out (i32.add (global.get $out) (local.get $len))))

  ;; The fixed strings of every module.  A PASSIVE data segment: it is not
  ;; placed in memory; memory.init copies from it on demand.
  ;;   offset 0 "\00asm" + version 1 | 8 host | 12 note | 16 main
  ;;          20 table | 25 memory | 31 patch | 36 dylink.0 | 44 env
  ;;          47 __table_base | 59 __memory_base | 72 __wasm_apply_data_relocs
  (data $strings "\00asm\01\00\00\00" "host" "note" "main" "table" "memory" "patch"
                 "dylink.0" "env" "__table_base" "__memory_base" "__wasm_apply_data_relocs")

  (func $emit_string (param $offset i32) (param $len i32)
    (call $emit_u32 (local.get $len))
    (memory.init $strings (global.get $out) (local.get $offset) (local.get $len))
    (global.set $out (i32.add (global.get $out) (local.get $len))))

  ;; a few instruction encoders, so the templates below read like wasm
  (func $op_i32_const (param $v i32)
    (call $emit (i32.const 0x41)) (call $emit_s32 (local.get $v)))
  (func $op_local_get (param $i i32)
    (call $emit (i32.const 0x20)) (call $emit_u32 (local.get $i)))
  (func $op_call (param $i i32)
    (call $emit (i32.const 0x10)) (call $emit_u32 (local.get $i)))

  ;; A section is: id byte, size (5 reserved bytes), contents.  After it we
  ;; tell the host where it ended, so the app can colour the bytes.
  (func $begin_section (param $id i32) (result i32)
    (call $emit (local.get $id))
    (call $reserve5))
  (func $end_section (param $id i32) (param $at i32)
    (call $patch_size (local.get $at))
    (call $note (i32.const 2) (local.get $id) (global.get $out)))       ;; SECTION

  ;; ===========================================================================
  ;; 9. Section writers
  ;; ===========================================================================
  ;;
  ;; Function index space of a generated module of n functions:
  ;;   0 = the imported host.note,  1..n = the batch,  n+1 = the link function
  ;;   (`patch`, the start function or __wasm_apply_data_relocs, section 11).
  ;; Global index space (pic only): 0 = __table_base, 1 = __memory_base.
  ;;
  ;; Which sections each link style writes (docs/abi.md):
  ;;   patch  type import function export          element(declarative) code
  ;;   start  type import function export start    element(passive)     code
  ;;   pic    dylink.0 type import(+2 globals) function export
  ;;                                               element(active)      code

  ;; pic only, and the module's FIRST section, as the tool conventions
  ;; (DynamicLinking.md) require: a custom section "dylink.0" holding one
  ;; subsection, WASM_DYLINK_MEM_INFO (id 1), which tells a loader how much
  ;; room to reserve before instantiating: memorysize, memoryalignment (log2),
  ;; tablesize, tablealignment (log2), each a varuint32.  Main is that loader
  ;; ($load_pic) and reserves exactly this.
  (func $write_dylink_section (param $n i32)
    (local $at i32) (local $sub i32)
    (local.set $at (call $begin_section (i32.const 0)))
    (call $emit_string (i32.const 36) (i32.const 8))   ;; name "dylink.0"
    (call $emit (i32.const 1))                         ;; WASM_DYLINK_MEM_INFO
    (local.set $sub (call $reserve5))                  ;; subsection size
    (call $emit_u32 (global.get $PIC_DATA_SIZE))       ;; memorysize
    (call $emit_u32 (i32.const 0))                     ;; memoryalignment 2^0
    (call $emit_u32 (local.get $n))                    ;; tablesize: n slots
    (call $emit_u32 (i32.const 0))                     ;; tablealignment 2^0
    (call $patch_size (local.get $sub))
    (call $end_section (i32.const 0) (local.get $at)))

  (func $write_header
    (memory.init $strings (global.get $out) (i32.const 0) (i32.const 8))
    (global.set $out (i32.add (global.get $out) (i32.const 8)))
    (call $note (i32.const 6) (global.get $JIT_BUF) (global.get $out)))  ;; HEADER

  ;; func type: 0x60, params, results (all i32 = 0x7F here)
  (func $emit_sig (param $nparams i32)
    (call $emit (i32.const 0x60))
    (call $emit_u32 (local.get $nparams))
    (block $done
      (loop $p
        (br_if $done (i32.eqz (local.get $nparams)))
        (call $emit (i32.const 0x7F))
        (local.set $nparams (i32.sub (local.get $nparams) (i32.const 1)))
        (br $p)))
    (call $emit (i32.const 1))
    (call $emit (i32.const 0x7F)))

  ;; types 0..4 = $sig_k (the same as ours), 5 = patch, 6 = note
  (func $write_type_section
    (local $at i32)
    (local.set $at (call $begin_section (i32.const 1)))
    (call $emit_u32 (select (i32.const 8) (i32.const 7)
                      (i32.eq (i32.load (i32.const 0x11C)) (i32.const 2))))
    (call $emit_sig (i32.const 1))        ;; 0: (self) -> i32
    (call $emit_sig (i32.const 2))        ;; 1: (a0 self) -> i32
    (call $emit_sig (i32.const 3))        ;; 2
    (call $emit_sig (i32.const 4))        ;; 3
    (call $emit_sig (i32.const 5))        ;; 4
    (call $emit (i32.const 0x60)) (call $emit (i32.const 0)) (call $emit (i32.const 0))
                                          ;; 5: () -> ()  for patch
    (call $emit (i32.const 0x60)) (call $emit (i32.const 3))
    (call $emit (i32.const 0x7F)) (call $emit (i32.const 0x7F)) (call $emit (i32.const 0x7F))
    (call $emit (i32.const 0))            ;; 6: (i32 i32 i32) -> ()  for note
    ;; FAULT 2 (bad-signature): type 7 with six parameters
    (if (i32.eq (i32.load (i32.const 0x11C)) (i32.const 2))
      (then (call $emit_sig (i32.const 6))))
    (call $end_section (i32.const 1) (local.get $at)))

  ;; The imports ARE the late link: the new code gets our table and memory.
  (func $write_import_section
    (local $at i32)
    (local.set $at (call $begin_section (i32.const 2)))
    ;; pic adds two immutable i32 globals: the bases main reserved
    (call $emit_u32 (select (i32.const 5) (i32.const 3)
                      (i32.eq (global.get $link) (i32.const 2))))
    ;; host.note: func of type 6
    (call $emit_string (i32.const 8) (i32.const 4))
    (call $emit_string (i32.const 12) (i32.const 4))
    (call $emit (i32.const 0x00)) (call $emit_u32 (i32.const 6))
    ;; main.table: table, funcref (0x70), limits "min only" (0x00), min 0
    (call $emit_string (i32.const 16) (i32.const 4))
    (call $emit_string (i32.const 20) (i32.const 5))
    (call $emit (i32.const 0x01)) (call $emit (i32.const 0x70))
    (call $emit (i32.const 0x00)) (call $emit_u32 (i32.const 0))
    ;; main.memory: memory, limits "min only", min 1 page
    (call $emit_string (i32.const 16) (i32.const 4))
    (call $emit_string (i32.const 25) (i32.const 6))
    (call $emit (i32.const 0x02)) (call $emit (i32.const 0x00))
    ;; FAULT 6 (link-mismatch): demand 16384 pages (1 GiB); ours has 8
    (call $emit_u32 (select (i32.const 16384) (i32.const 1)
                      (i32.eq (i32.load (i32.const 0x11C)) (i32.const 6))))
    ;; pic: env.__table_base and env.__memory_base, global (0x03) i32 const
    (if (i32.eq (global.get $link) (i32.const 2))
      (then
        (call $emit_string (i32.const 44) (i32.const 3))
        (call $emit_string (i32.const 47) (i32.const 12))
        (call $emit (i32.const 0x03)) (call $emit (i32.const 0x7F)) (call $emit (i32.const 0x00))
        (call $emit_string (i32.const 44) (i32.const 3))
        (call $emit_string (i32.const 59) (i32.const 13))
        (call $emit (i32.const 0x03)) (call $emit (i32.const 0x7F)) (call $emit (i32.const 0x00))))
    (call $end_section (i32.const 2) (local.get $at)))

  ;; the type of each function: its arity k (= type index k), then the link
  ;; function's, () -> ()
  (func $write_function_section (param $n i32)
    (local $at i32) (local $i i32)
    (local.set $at (call $begin_section (i32.const 3)))
    (call $emit_u32 (i32.add (local.get $n) (i32.const 1)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        ;; FAULT 2 (bad-signature): every function claims type 7
        (call $emit_u32
          (select (i32.const 7)
                  (i32.load offset=12 (call $queued (local.get $i)))
                  (i32.eq (i32.load (i32.const 0x11C)) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $emit_u32 (i32.const 5))
    (call $end_section (i32.const 3) (local.get $at)))

  ;; The export the host calls after instantiation, as a string of $strings:
  ;; patch -> "patch", pic -> "__wasm_apply_data_relocs", start -> none
  ;; (length 0: the start function runs by itself and needs no export).
  (func $link_name_offset (result i32)
    (select (i32.const 72) (i32.const 31) (i32.eq (global.get $link) (i32.const 2))))
  (func $link_name_len (result i32)
    (if (result i32) (i32.eq (global.get $link) (i32.const 1))
      (then (i32.const 0))
      (else (select (i32.const 24) (i32.const 5)
                    (i32.eq (global.get $link) (i32.const 2))))))

  ;; Is function object $f's name the link export's name?  The name is copied
  ;; out of $strings to the write cursor (scratch: what the export section
  ;; writes next overwrites it) and compared byte by byte.
  (func $is_link_name (param $f i32) (result i32)
    (local $len i32) (local $name i32) (local $i i32)
    (local.set $len (call $link_name_len))
    (if (i32.or (i32.eqz (local.get $len))
                (i32.ne (i32.load offset=28 (local.get $f)) (local.get $len)))
      (then (return (i32.const 0))))
    (memory.init $strings (global.get $out) (call $link_name_offset) (local.get $len))
    (local.set $name (i32.load offset=24 (local.get $f)))
    (block $differ
      (loop $each
        (if (i32.ge_u (local.get $i) (local.get $len)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (i32.add (local.get $name) (local.get $i)))
                               (i32.load8_u (i32.add (global.get $out) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.const 0))

  ;; the link export (patch, __wasm_apply_data_relocs; none for start), and
  ;; each function under its source name (so the app can list it)
  (func $write_export_section (param $n i32)
    (local $at i32) (local $i i32) (local $f i32) (local $link_len i32)
    (local.set $at (call $begin_section (i32.const 7)))
    (local.set $link_len (call $link_name_len))
    (call $emit_u32 (i32.add (local.get $n) (i32.ne (local.get $link_len) (i32.const 0))))
    (if (local.get $link_len)
      (then
        (call $emit_string (call $link_name_offset) (local.get $link_len))
        (call $emit (i32.const 0x00))
        (call $emit_u32 (i32.add (local.get $n) (i32.const 1)))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $f (call $queued (local.get $i)))
        ;; A function the user named like the link export (`patch`, or
        ;; `__wasm_apply_data_relocs` in pic) would collide with it: it is
        ;; exported as `$patch` instead.  `$` is in no source name, so nothing
        ;; else can clash (docs/abi.md, "Export names").
        (if (call $is_link_name (local.get $f))
          (then
            (call $emit_u32 (i32.add (local.get $link_len) (i32.const 1)))
            (call $emit (i32.const 0x24))                                  ;; "$"
            (memory.copy (global.get $out) (i32.load offset=24 (local.get $f))
                         (local.get $link_len))
            (global.set $out (i32.add (global.get $out) (local.get $link_len))))
          (else
            (call $emit_name (i32.load offset=24 (local.get $f))
                             (i32.load offset=28 (local.get $f)))))
        (call $emit (i32.const 0x00))
        (call $emit_u32 (i32.add (local.get $i) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $end_section (i32.const 7) (local.get $at)))

  ;; start only: the start section names the function that runs at the end
  ;; of instantiation -- the link function n+1.
  (func $write_start_section (param $n i32)
    (local $at i32)
    (local.set $at (call $begin_section (i32.const 8)))
    (call $emit_u32 (i32.add (local.get $n) (i32.const 1)))
    (call $end_section (i32.const 8) (local.get $at)))

  ;; One segment listing the batch's functions 1..n; its MODE is the link:
  ;;  patch: declarative (flags 3).  `ref.func f` is only valid for functions
  ;;         the module declares as referenceable; this segment does exactly
  ;;         that and nothing else: it never initialises any table.  patch's
  ;;         table.set puts each ref.func in place.
  ;;  start: passive (flags 1).  Not placed anywhere at instantiation; the
  ;;         start function copies it into the slots it grew with ONE
  ;;         table.init (segment 0).
  ;;  pic:   active (flags 0), table 0 at offset (global.get $__table_base):
  ;;         instantiation itself places the functions in the slots main
  ;;         reserved.  FAULT 1 (null-slot) makes it declarative instead:
  ;;         the functions are placed nowhere, like a patch without table.set.
  (func $write_element_section (param $n i32)
    (local $at i32) (local $i i32) (local $flags i32)
    (local.set $flags
      (if (result i32) (i32.eq (global.get $link) (i32.const 1))
        (then (i32.const 1))
        (else (if (result i32) (i32.and (i32.eq (global.get $link) (i32.const 2))
                                        (i32.ne (i32.load (i32.const 0x11C)) (i32.const 1)))
                (then (i32.const 0))
                (else (i32.const 3))))))
    (local.set $at (call $begin_section (i32.const 9)))
    (call $emit_u32 (i32.const 1))      ;; one segment
    (call $emit_u32 (local.get $flags))
    (if (i32.eqz (local.get $flags))
      (then                             ;; offset expression: global.get 0; end
        (call $emit (i32.const 0x23)) (call $emit (i32.const 0x00))
        (call $emit (i32.const 0x0B)))
      (else (call $emit (i32.const 0x00))))   ;; elemkind: funcref
    (call $emit_u32 (local.get $n))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $emit_u32 (i32.add (local.get $i) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $end_section (i32.const 9) (local.get $at)))

  (func $write_code_section (param $n i32)
    (local $at i32) (local $i i32)
    (local.set $at (call $begin_section (i32.const 10)))
    (call $emit_u32 (i32.add (local.get $n) (i32.const 1)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $translate (call $queued (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (if (i32.eq (global.get $link) (i32.const 1))
      (then (call $write_start_function (local.get $n)))
      (else (if (i32.eq (global.get $link) (i32.const 2))
              (then (call $write_apply_relocs (local.get $n)))
              (else (call $write_patch (local.get $n))))))
    (call $end_section (i32.const 10) (local.get $at)))

  ;; Which batch member `g` is, if a direct call may reach it; -1 otherwise.
  ;; Direct calls are off when switched off, and in fault mode 2, whose
  ;; functions are deliberately declared with the wrong type.
  (func $direct_index (param $g i32) (result i32)
    (local $i i32)
    (if (i32.eqz (call $direct_on)) (then (return (i32.const -1))))
    (block $absent
      (loop $scan
        (br_if $absent (i32.ge_u (local.get $i) (global.get $batch_n)))
        (if (i32.eq (call $queued (local.get $i)) (local.get $g))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const -1))

  ;; Whether the module being written calls its batch-mates directly.
  (func $direct_on (result i32)
    (i32.and (i32.ne (i32.load (i32.const 0x128)) (i32.const 0))
             (i32.ne (i32.load (i32.const 0x11C)) (i32.const 2))))

  ;; 0 patch, 1 start, 2 pic; anything else counts as patch.
  (func $set_link (export "set_link") (param $style i32)
    (global.set $link
      (select (local.get $style) (i32.const 0)
              (i32.le_u (local.get $style) (i32.const 2)))))

  (func $set_direct_calls (export "set_direct_calls") (param $on i32)
    (i32.store (i32.const 0x128) (i32.ne (local.get $on) (i32.const 0))))

  ;; ===========================================================================
  ;; 10. The op-by-op translator
  ;; ===========================================================================
  ;;
  ;; A template JIT: each bytecode op has a fixed wasm snippet, emitted in
  ;; order, with no analysis.  It works because the bytecode already has the
  ;; shape of wasm: a stack machine whose IF/ELSE/END are structured exactly
  ;; like wasm's `if (result i32) ... else ... end`.  The operand stack
  ;; disappears into wasm's own stack, which the engine keeps in registers --
  ;; that, and no dispatch loop, is where the speed-up comes from.
  ;;
  ;; Locals of a compiled function of k params: 0..k-1 the arguments, k self,
  ;; k+1 $t (scratch for the call template).

  (func $translate (param $f i32)
    (local $size_at i32) (local $pc i32) (local $end i32) (local $t i32)
    (local $g i32) (local $k i32)
    (local.set $size_at (call $reserve5))          ;; body size, patched below
    (call $emit (i32.const 1))                     ;; one group of locals:
    (call $emit (i32.const 1))                     ;;   1 local
    (call $emit (i32.const 0x7F))                  ;;   of type i32 ($t)
    (local.set $t (i32.add (i32.load offset=12 (local.get $f)) (i32.const 1)))

    ;; FAULT 4 (invalid-module): i32.add with nothing on the stack
    (if (i32.eq (i32.load (i32.const 0x11C)) (i32.const 4))
      (then (call $emit (i32.const 0x6A))))
    ;; FAULT 5 (runaway): loop br 0 end -- spins until fuel runs out
    (if (i32.eq (i32.load (i32.const 0x11C)) (i32.const 5))
      (then (call $emit (i32.const 0x03)) (call $emit (i32.const 0x40))
            (call $emit (i32.const 0x0C)) (call $emit (i32.const 0x00))
            (call $emit (i32.const 0x0B))))

    (local.set $pc (i32.load offset=4 (local.get $f)))
    (local.set $end (i32.add (local.get $pc) (i32.load offset=8 (local.get $f))))
    (block $finished
      (loop $next
        ;; ran off the end without RET: close the body anyway
        (if (i32.ge_u (local.get $pc) (local.get $end))
          (then (call $emit (i32.const 0x0B)) (br $finished)))
        (block $op1                  ;; one-byte ops finish here: pc += 1
        (block $bad
        (block $call (block $endop (block $else (block $if
        (block $ge (block $le (block $gt (block $lt (block $ne (block $eq
        (block $rem (block $div (block $mul (block $sub (block $add
        (block $arg (block $const (block $ret
          (br_table $ret $const $arg $add $sub $mul $div $rem
                    $eq $ne $lt $gt $le $ge $if $else $endop $call $bad
            (i32.load8_u (local.get $pc))))
        ;; RET -> `end` of the function body: the value on the stack is the
        ;; result.  RET is always the last op, so the body is complete.
        (call $emit (i32.const 0x0B))
        (br $finished))
        ;; CONST v -> i32.const v
        (call $op_i32_const (i32.load offset=1 (local.get $pc)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
        (br $next))
        ;; ARG i -> local.get i
        (call $op_local_get (i32.load offset=1 (local.get $pc)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
        (br $next))
        ;; the operators map one-to-one onto wasm instructions
        (call $emit (i32.const 0x6A)) (br $op1))   ;; ADD -> i32.add
        (call $emit (i32.const 0x6B)) (br $op1))   ;; SUB -> i32.sub
        (call $emit (i32.const 0x6C)) (br $op1))   ;; MUL -> i32.mul
        (call $emit (i32.const 0x6D)) (br $op1))   ;; DIV -> i32.div_s
        (call $emit (i32.const 0x6F)) (br $op1))   ;; REM -> i32.rem_s
        (call $emit (i32.const 0x46)) (br $op1))   ;; EQ  -> i32.eq
        (call $emit (i32.const 0x47)) (br $op1))   ;; NE  -> i32.ne
        (call $emit (i32.const 0x48)) (br $op1))   ;; LT  -> i32.lt_s
        (call $emit (i32.const 0x4A)) (br $op1))   ;; GT  -> i32.gt_s
        (call $emit (i32.const 0x4C)) (br $op1))   ;; LE  -> i32.le_s
        (call $emit (i32.const 0x4E)) (br $op1))   ;; GE  -> i32.ge_s
        ;; IF e -> if (result i32); the jump offset is not needed: wasm's
        ;; structured control flow knows where its else and end are
        (call $emit (i32.const 0x04)) (call $emit (i32.const 0x7F))
        (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
        (br $next))
        ;; ELSE x -> else
        (call $emit (i32.const 0x05))
        (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
        (br $next))
        ;; END -> end
        (call $emit (i32.const 0x0B))
        (br $op1))
        ;; CALL g (arity k) -- the late-linked call template:
        ;;   i32.const g                  ;; self, pushed after the arguments
        ;;   i32.const g  i32.load        ;; g's code slot (0 = not compiled)
        ;;   local.tee $t
        ;;   i32.const ENTRY_SLOT0+k      ;; the interpreter entry for arity k
        ;;   local.get $t
        ;;   select                       ;; slot ? slot : entry
        ;;   call_indirect (type k) (table 0)
        ;; The slot is read at every call, so a callee compiled by a LATER
        ;; batch is picked up without touching this code.
        ;;
        ;; One exception, when direct calls are on (the default): a callee in
        ;; THIS batch lives in this very module, so its function index is
        ;; known and a plain `call` reaches it -- no slot load, no signature
        ;; check, no crossing between instances.  That is most calls of a
        ;; recursive function, and it is where most of the speed-up over the
        ;; interpreter comes from (docs/abi.md measures both).  Calls to
        ;; anything else, the interpreter entries included, still go through
        ;; the table.
        (local.set $g (i32.load offset=1 (local.get $pc)))
        (local.set $k (i32.load offset=12 (local.get $g)))
        (if (i32.ge_s (call $direct_index (local.get $g)) (i32.const 0))
          (then
            (call $op_i32_const (local.get $g))              ;; self
            (call $emit (i32.const 0x10))                    ;; call
            (call $emit_u32 (i32.add (call $direct_index (local.get $g)) (i32.const 1)))
            (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
            (br $next)))
        (call $op_i32_const (local.get $g))
        (call $op_i32_const (local.get $g))
        (call $emit (i32.const 0x28)) (call $emit (i32.const 2)) (call $emit (i32.const 0))
        (call $emit (i32.const 0x22)) (call $emit_u32 (local.get $t))
        (call $op_i32_const (i32.add (global.get $ENTRY_SLOT0) (local.get $k)))
        (call $op_local_get (local.get $t))
        (call $emit (i32.const 0x1B))
        (call $emit (i32.const 0x11)) (call $emit_u32 (local.get $k)) (call $emit (i32.const 0))
        (local.set $pc (i32.add (local.get $pc) (i32.const 5)))
        (br $next))
        ;; unknown opcode: trap if ever reached (the interpreter would too)
        (call $emit (i32.const 0x00))
        (call $emit (i32.const 0x0B))
        (br $finished))
        ;; $op1: the one-byte ops (operators, END)
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $next)))
    (call $patch_size (local.get $size_at)))

  ;; ===========================================================================
  ;; 11. The link writers: patch, start function, __wasm_apply_data_relocs
  ;; ===========================================================================
  ;;
  ;; The last function of every generated module is its own linker.  It runs
  ;; inside the new instance, so it can name the new functions -- something
  ;; main cannot do -- and it has our table and memory as imports.  Three
  ;; styles (set_link), one job: get each function into a table slot, and
  ;; write that slot into the function object's code slot (the relocation).
  ;;
  ;; patch (an exported `patch`, called by the host after instantiation):
  ;;   (func $patch (local $base i32)
  ;;     (local.tee $base (table.grow 0 (ref.null func) (i32.const n)))
  ;;     i32.const -1  i32.eq  if unreachable end     ;; store refused to grow
  ;;     (call $note (i32.const 16) (local.get $base) (i32.const n))  ;; GROW
  ;;     ;; for each function i:
  ;;     (table.set 0 (i32.add (local.get $base) (i32.const i)) (ref.func f_i))
  ;;     (call $note (i32.const 17) base+i obj_i)                      ;; SET
  ;;     (i32.store (i32.const obj_i) base+i)    ;; relocate the code slot
  ;;     (call $note (i32.const 18) obj_i base+i))                     ;; RELOC
  ;;
  ;; start (the module's start function, run BY instantiation; wingo's
  ;; wasm-jit links this way): the same grow, then ONE table.init copies the
  ;; whole passive element segment into the new slots (when free slots are
  ;; reused, section 13, each reused slot gets a table.init of its own), then
  ;; the relocations:
  ;;   (func $start (local $base i32)
  ;;     (local.tee $base (table.grow ...)) ... GROW note          ;; as above
  ;;     (table.init 0 0 (local.get $base) (i32.const 0) (i32.const n))
  ;;     (call $note (i32.const 19) (local.get $base) (i32.const n))  ;; INIT
  ;;     ;; for each function i: the i32.store relocation and RELOC note
  ;;   No export is needed and the host cannot forget to link; but a trap
  ;;   here fails the instantiation, after table.grow has already grown OUR
  ;;   table: the slots stay.
  ;;
  ;; pic (position-independent): main reserved the slots before asking for
  ;; the instantiation ($load_pic), and instantiation placed the functions
  ;; there (the active segment at __table_base).  What is left are the
  ;; relocations, which need __table_base, known only at load time:
  ;;   (func $__wasm_apply_data_relocs
  ;;     ;; for each function i:
  ;;     (i32.store (i32.const obj_i) (i32.add (global.get $__table_base) i))
  ;;     (call $note (i32.const 18) obj_i __table_base+i))               ;; RELOC

  ;; The table index function i gets.  A slot main took off its free list
  ;; (i < $reuse_k, patch and start only; section 13) is a constant: main
  ;; knows it while it writes.  The others are counted from the base (patch
  ;; and start: local 0, the value table.grow returned; pic: global 0,
  ;; __table_base):
  (func $emit_base
    (if (i32.eq (global.get $link) (i32.const 2))
      (then (call $emit (i32.const 0x23)) (call $emit (i32.const 0x00)))   ;; global.get 0
      (else (call $op_local_get (i32.const 0)))))                           ;; local.get 0
  ;; ... plus i, less the members that reuse a slot
  (func $emit_slot (param $i i32)
    (if (i32.lt_u (local.get $i) (global.get $reuse_k))
      (then (call $op_i32_const (call $reused_slot (local.get $i))) (return)))
    (call $emit_base)
    (call $op_i32_const (i32.sub (local.get $i) (global.get $reuse_k)))
    (call $emit (i32.const 0x6A)))                                          ;; i32.add

  ;; A body's start: its size (back-patched by the caller) and its locals:
  ;; one i32 ($base) for patch and start, none for pic.  Returns where the
  ;; size goes.
  (func $begin_link_body (param $locals i32) (result i32)
    (local $size_at i32)
    (local.set $size_at (call $reserve5))
    (if (local.get $locals)
      (then (call $emit (i32.const 1)) (call $emit (i32.const 1)) (call $emit (i32.const 0x7F)))
      (else (call $emit (i32.const 0))))
    (local.get $size_at))

  ;; base = table.grow(ref.null func, n); trap if the store refused; note GROW
  ;; (nothing at all when n is 0: every member reuses a freed slot)
  (func $emit_grow (param $n i32)
    (if (i32.eqz (local.get $n)) (then (return)))
    (call $emit (i32.const 0xD0)) (call $emit (i32.const 0x70))   ;; ref.null func
    (call $op_i32_const (local.get $n))
    (call $emit (i32.const 0xFC)) (call $emit_u32 (i32.const 15)) ;; table.grow
    (call $emit (i32.const 0x00))                                 ;;   table 0
    (call $emit (i32.const 0x22)) (call $emit (i32.const 0x00))   ;; local.tee 0
    (call $op_i32_const (i32.const -1))
    (call $emit (i32.const 0x46))                                 ;; i32.eq
    (call $emit (i32.const 0x04)) (call $emit (i32.const 0x40))   ;; if
    (call $emit (i32.const 0x00))                                 ;;   unreachable
    (call $emit (i32.const 0x0B))                                 ;; end
    ;; note(GROW, base, n)
    (call $op_i32_const (i32.const 16))
    (call $op_local_get (i32.const 0))
    (call $op_i32_const (local.get $n))
    (call $op_call (i32.const 0)))

  ;; The relocation of batch member i (function object $f):
  ;;   i32.store (obj) (base + i)   then   note(RELOC, obj, base + i)
  (func $emit_reloc (param $f i32) (param $i i32) (param $n i32)
    (call $op_i32_const (local.get $f))
    (call $emit_reloc_slot (local.get $i) (local.get $n))
    (call $emit (i32.const 0x36)) (call $emit (i32.const 2)) (call $emit (i32.const 0))
    (call $op_i32_const (i32.const 18))
    (call $op_i32_const (local.get $f))
    (call $emit_reloc_slot (local.get $i) (local.get $n))
    (call $op_call (i32.const 0)))

  ;; The slot the relocation writes: member i's ($emit_slot).
  ;; FAULT 3 (out-of-bounds): past the end instead -- base + n + i, or, for a
  ;; reused slot, which has no base, table.size + i.
  (func $emit_reloc_slot (param $i i32) (param $n i32)
    (if (i32.ne (i32.load (i32.const 0x11C)) (i32.const 3))
      (then (call $emit_slot (local.get $i)) (return)))
    (if (i32.lt_u (local.get $i) (global.get $reuse_k))
      (then
        (call $emit (i32.const 0xFC)) (call $emit_u32 (i32.const 16))  ;; table.size
        (call $emit (i32.const 0x00))                                  ;;   table 0
        (call $op_i32_const (local.get $i))
        (call $emit (i32.const 0x6A))                                  ;; i32.add
        (return)))
    (call $emit_slot (i32.add (local.get $n) (local.get $i))))

  (func $write_patch (param $n i32)
    (local $size_at i32) (local $i i32) (local $f i32)
    (local.set $size_at (call $begin_link_body (i32.const 1)))    ;; local 0: $base
    (call $emit_grow (i32.sub (local.get $n) (global.get $reuse_k)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $f (call $queued (local.get $i)))
        ;; FAULT 1 (null-slot): no table.set (and so no SET note): the slot
        ;; stays null, yet the code slot below still points at it
        (if (i32.ne (i32.load (i32.const 0x11C)) (i32.const 1))
          (then
            ;; table.set 0 (base + i) (ref.func 1+i)
            (call $emit_slot (local.get $i))
            (call $emit (i32.const 0xD2)) (call $emit_u32 (i32.add (local.get $i) (i32.const 1)))
            (call $emit (i32.const 0x26)) (call $emit (i32.const 0x00))
            ;; note(SET, base + i, obj)
            (call $op_i32_const (i32.const 17))
            (call $emit_slot (local.get $i))
            (call $op_i32_const (local.get $f))
            (call $op_call (i32.const 0))))
        (call $emit_reloc (local.get $f) (local.get $i) (local.get $n))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $emit (i32.const 0x0B))                                 ;; end
    (call $patch_size (local.get $size_at)))

  (func $write_start_function (param $n i32)
    (local $size_at i32) (local $i i32) (local $grown i32)
    (local.set $size_at (call $begin_link_body (i32.const 1)))    ;; local 0: $base
    (local.set $grown (i32.sub (local.get $n) (global.get $reuse_k)))
    (call $emit_grow (local.get $grown))
    ;; FAULT 1 (null-slot): no table.init (and no INIT note): the new slots
    ;; stay null, yet the code slots below still point at them
    (if (i32.ne (i32.load (i32.const 0x11C)) (i32.const 1))
      (then
        ;; a reused slot is not next to the others: one table.init of one
        ;; element each (section 13) ...
        (block $reused
          (loop $each
            (br_if $reused (i32.ge_u (local.get $i) (global.get $reuse_k)))
            (call $emit_init (local.get $i) (i32.const 1))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))
        ;; ... and the grown slots, in a row: one table.init for them all
        (if (local.get $grown)
          (then (call $emit_init (global.get $reuse_k) (local.get $grown))))))
    (call $emit_relocs_end (local.get $n) (local.get $size_at)))

  ;; table.init elem 0 -> table 0: dest (member $from's slot), src $from,
  ;; count $count; then note(INIT, that slot, count).  With nothing reused,
  ;; the one call is: dest base, src 0, count n.
  (func $emit_init (param $from i32) (param $count i32)
    (call $emit_slot_or_base (local.get $from))
    (call $op_i32_const (local.get $from))
    (call $op_i32_const (local.get $count))
    (call $emit (i32.const 0xFC)) (call $emit_u32 (i32.const 12))
    (call $emit (i32.const 0x00)) (call $emit (i32.const 0x00))
    (call $op_i32_const (i32.const 19))
    (call $emit_slot_or_base (local.get $from))
    (call $op_i32_const (local.get $count))
    (call $op_call (i32.const 0)))

  ;; member i's slot, written as `local.get 0` alone for the first grown one
  ;; (base + 0: the bytes main wrote before slots could be reused)
  (func $emit_slot_or_base (param $i i32)
    (if (i32.eq (local.get $i) (global.get $reuse_k))
      (then (call $emit_base))
      (else (call $emit_slot (local.get $i)))))

  (func $write_apply_relocs (param $n i32)
    (call $emit_relocs_end (local.get $n)
                           (call $begin_link_body (i32.const 0))))  ;; no locals

  ;; The end of the start function and of __wasm_apply_data_relocs alike: one
  ;; relocation per batch member (its code slot := its table slot), `end`, then
  ;; the body's size, patched in at $size_at.  (patch interleaves its table.set
  ;; and relocation per member instead: its notes come in that order.)
  (func $emit_relocs_end (param $n i32) (param $size_at i32)
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $emit_reloc (call $queued (local.get $i)) (local.get $i) (local.get $n))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $emit (i32.const 0x0B))                                 ;; end
    (call $patch_size (local.get $size_at)))

  ;; ===========================================================================
  ;; 12. Faults
  ;; ===========================================================================
  ;;
  ;; For the lessons, the template JIT can be made deliberately wrong.  Each
  ;; fault is one small edit in a writer above (search for "FAULT"), and each
  ;; one breaks a different link of the chain:
  ;;   1 null-slot       patch forgets table.set   -> call hits a null slot
  ;;   2 bad-signature   functions get 6 params    -> signature check fails
  ;;   3 out-of-bounds   code slot = base + n + i  -> index past the table
  ;;   4 invalid-module  i32.add on an empty stack -> validation error
  ;;   5 runaway         each body starts with an endless loop -> out of fuel
  ;;   6 link-mismatch   imports a 16384-page memory -> link error
  ;; 0 turns them off.  Only modules generated afterwards are affected.

  (func $set_fault (export "set_fault") (param $mode i32)
    (i32.store (i32.const 0x11C) (local.get $mode)))

  ;; ===========================================================================
  ;; 13. The life of code: redefinition frees slots, the JIT reuses them
  ;; ===========================================================================
  ;;
  ;; When the host redefines a function (same name, new body), the old
  ;; machine code must become unreachable, and its table slot can serve again:
  ;;
  ;;   redefine(f)   OUR code, not the host's: table.set the slot to null,
  ;;                 push it on the free list, send f back to the interpreter
  ;;                 (code slot 0, cold, 0 calls), note FREE.  The host then
  ;;                 writes the new bytecode (set_code) as for a new function.
  ;;   $take_free    patch and start: the next batch takes its slots off the
  ;;                 free list before it grows the table.  Main knows the
  ;;                 reused slots while it WRITES the module, so it writes
  ;;                 them into the link code as constants (table.set /
  ;;                 table.init at slot S); only the remaining members count
  ;;                 from table.grow's base.  Such a module is tied to this
  ;;                 table at this moment: not position-independent.
  ;;   $take_run     pic: main, the loader, reserves n free slots IN A ROW
  ;;                 (first fit, lowest run) and passes the first as
  ;;                 __table_base: the module itself does not change.
  ;;   $give_back    after a failed link: reused slots still null go back.
  ;;
  ;; The old module is not gone: whatever the table holds, a wasm engine
  ;; keeps an instance as long as its store (wasmtime) -- the recorder counts
  ;; them.  Freeing a slot only makes the old code unreachable.
  ;;
  ;; One catch: inside one batch, calls are plain `call`s (section 10), so a
  ;; batch-mate g of f still calls the OLD f without reading any slot.  So
  ;; redefine also retires every function compiled in f's module that calls a
  ;; retired one (until none is left).  MODULE_OF[i] (one i32 per function
  ;; object, in definition order) says which module -- main's count,
  ;; state.modules -- compiled function i with direct calls; 0: none does.
  ;; While redefine runs, "retired from module m" is MODULE_OF = m with a
  ;; code slot of 0 (a member that linked always has its slot); redefine
  ;; clears their MODULE_OF when it is done.
  ;;
  ;; Free list: FREE_BASE[0 .. state.free_len), a stack of slot numbers, at
  ;; most MAX_FREE; a slot freed when it is full stays null and is not reused.

  ;; the address of free-list entry i
  (func $free_at (param $i i32) (result i32)
    (i32.add (global.get $FREE_BASE) (i32.shl (local.get $i) (i32.const 2))))

  ;; the address of function object f's MODULE_OF entry
  (func $module_of_at (param $f i32) (result i32)
    (i32.add (global.get $MODULE_OF)
      (i32.shl (i32.div_u (i32.sub (local.get $f) (global.get $FUNCS_BASE))
                          (global.get $FUNC_SIZE))
               (i32.const 2))))

  ;; Back to the interpreter: free f's slot if it holds code, reset f.
  (func $retire (param $f i32)
    (local $slot i32) (local $len i32) (local $freed i32)
    (local.set $slot (i32.load (local.get $f)))
    ;; only a slot the JIT gave out, inside the table, that holds code: never
    ;; slot 0 or an interpreter entry, and never a slot already free (null)
    (if (i32.and (i32.gt_u (local.get $slot)
                           (i32.add (global.get $ENTRY_SLOT0) (global.get $MAX_PARAMS)))
                 (i32.lt_u (local.get $slot) (table.size $table)))
      (then
        (if (i32.eqz (ref.is_null (table.get $table (local.get $slot))))
          (then
            (table.set $table (local.get $slot) (ref.null func))   ;; THE free
            (local.set $len (i32.load (i32.const 0x130)))
            (if (i32.lt_u (local.get $len) (global.get $MAX_FREE))
              (then
                (i32.store (call $free_at (local.get $len)) (local.get $slot))
                (i32.store (i32.const 0x130) (i32.add (local.get $len) (i32.const 1)))))
            (i32.store (i32.const 0x134) (i32.add (i32.load (i32.const 0x134)) (i32.const 1)))
            (local.set $freed (i32.const 1))))))
    (i32.store (local.get $f) (i32.const 0))                  ;; code slot: interpret
    (if (i32.ne (i32.load offset=20 (local.get $f)) (i32.const 1))   ;; unless queued,
      (then (i32.store offset=20 (local.get $f) (i32.const 0))))     ;; cold again
    (i32.store offset=16 (local.get $f) (i32.const 0))        ;; and counted afresh
    (if (local.get $freed)
      (then (call $note (i32.const 11) (local.get $slot) (local.get $f)))))   ;; FREE

  ;; Was h compiled in module m, and retired by this redefine (code slot 0)?
  (func $retired_from (param $h i32) (param $m i32) (result i32)
    (i32.and (i32.eq (i32.load (call $module_of_at (local.get $h))) (local.get $m))
             (i32.eqz (i32.load (local.get $h)))))

  ;; Does g's bytecode CALL a function retired from module m?
  (func $calls_retired (param $g i32) (param $m i32) (result i32)
    (local $pc i32) (local $end i32) (local $op i32)
    (local.set $pc (i32.load offset=4 (local.get $g)))
    (local.set $end (i32.add (local.get $pc) (i32.load offset=8 (local.get $g))))
    (block $no
      (loop $next
        (br_if $no (i32.ge_u (local.get $pc) (local.get $end)))
        (local.set $op (i32.load8_u (local.get $pc)))
        (if (i32.eq (local.get $op) (i32.const 17))                    ;; CALL h
          (then
            (if (call $retired_from (i32.load offset=1 (local.get $pc)) (local.get $m))
              (then (return (i32.const 1))))))
        ;; CONST ARG IF ELSE CALL carry a 4-byte immediate
        (local.set $pc (i32.add (local.get $pc)
          (select (i32.const 5) (i32.const 1)
            (i32.or (i32.or (i32.eq (local.get $op) (i32.const 1))
                            (i32.eq (local.get $op) (i32.const 2)))
                    (i32.or (i32.or (i32.eq (local.get $op) (i32.const 14))
                                    (i32.eq (local.get $op) (i32.const 15)))
                            (i32.eq (local.get $op) (i32.const 17)))))))
        (br $next)))
    (i32.const 0))

  ;; The host redefines f: retire f, and the batch-mates that call it (or
  ;; call one retired) directly.  Returns how many slots were freed.
  (func $redefine (export "redefine") (param $f i32) (result i32)
    (local $before i32) (local $m i32) (local $n i32) (local $i i32) (local $g i32)
    (local $again i32)
    (local.set $before (i32.load (i32.const 0x134)))
    (local.set $m (i32.load (call $module_of_at (local.get $f))))
    (call $retire (local.get $f))
    (if (i32.gt_s (local.get $m) (i32.const 0))
      (then
        (local.set $n (i32.load (i32.const 0x100)))
        (loop $sweep
          (local.set $again (i32.const 0))
          (local.set $i (i32.const 0))
          (block $done
            (loop $each
              (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
              (local.set $g (i32.add (global.get $FUNCS_BASE)
                                     (i32.mul (local.get $i) (global.get $FUNC_SIZE))))
              (if (i32.and (i32.and (i32.eq (i32.load (call $module_of_at (local.get $g)))
                                            (local.get $m))
                                    (i32.ne (i32.load (local.get $g)) (i32.const 0)))
                           (call $calls_retired (local.get $g) (local.get $m)))
                (then (call $retire (local.get $g)) (local.set $again (i32.const 1))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $each)))
          (br_if $sweep (local.get $again)))
        ;; retired functions belong to no module any more
        (local.set $i (i32.const 0))
        (block $done
          (loop $each
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $g (i32.add (global.get $FUNCS_BASE)
                                   (i32.mul (local.get $i) (global.get $FUNC_SIZE))))
            (if (call $retired_from (local.get $g) (local.get $m))
              (then (i32.store (call $module_of_at (local.get $g)) (i32.const 0))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))))
    (i32.sub (i32.load (i32.const 0x134)) (local.get $before)))

  ;; patch and start: the batch of n takes the k = min(n, free) most recently
  ;; freed slots, for its first k members; note REUSE(slot, object) each.
  (func $take_free (param $n i32)
    (local $len i32)
    (local.set $len (i32.load (i32.const 0x130)))
    (call $take_top (select (local.get $n) (local.get $len)
                            (i32.lt_u (local.get $n) (local.get $len)))))

  ;; Take the top k entries off the free list for batch members 0..k-1 (both
  ;; $take_free and $take_run end so): remember where they are, count them,
  ;; and note REUSE for each.
  (func $take_top (param $k i32)
    (local $i i32)
    (global.set $reuse_k (local.get $k))
    (global.set $reuse_at (i32.sub (i32.load (i32.const 0x130)) (local.get $k)))
    (i32.store (i32.const 0x130) (global.get $reuse_at))
    (i32.store (i32.const 0x138) (i32.add (i32.load (i32.const 0x138)) (local.get $k)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $k)))
        (call $note (i32.const 12) (call $reused_slot (local.get $i))      ;; REUSE
                                   (call $queued (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; the slot batch member i < $reuse_k reuses
  (func $reused_slot (param $i i32) (result i32)
    (i32.load (call $free_at (i32.add (global.get $reuse_at) (local.get $i)))))

  ;; where slot s is on the free list, or -1
  (func $free_index (param $s i32) (result i32)
    (local $i i32) (local $len i32)
    (local.set $len (i32.load (i32.const 0x130)))
    (block $absent
      (loop $each
        (br_if $absent (i32.ge_u (local.get $i) (local.get $len)))
        (if (i32.eq (i32.load (call $free_at (local.get $i))) (local.get $s))
          (then (return (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.const -1))

  ;; pic: the lowest run of n free slots in a row (first fit).  Its entries
  ;; are moved to the top of the list, in order, and taken off it, so member
  ;; i gets __table_base + i = $reused_slot(i); note REUSE each.  Returns the
  ;; run's first slot, or -1 (then main grows the table, as before).
  (func $take_run (param $n i32) (result i32)
    (local $len i32) (local $j i32) (local $s i32) (local $best i32) (local $t i32)
    (local $ok i32) (local $at i32) (local $top i32) (local $v i32)
    (local.set $len (i32.load (i32.const 0x130)))
    (if (i32.or (i32.eqz (local.get $n)) (i32.gt_u (local.get $n) (local.get $len)))
      (then (return (i32.const -1))))
    (local.set $best (i32.const -1))
    (block $searched
      (loop $each
        (br_if $searched (i32.ge_u (local.get $j) (local.get $len)))
        (local.set $s (i32.load (call $free_at (local.get $j))))
        (if (i32.lt_u (local.get $s) (local.get $best))        ;; -1 is the largest u32
          (then
            (local.set $ok (i32.const 1))
            (local.set $t (i32.const 1))
            (block $checked
              (loop $more
                (br_if $checked (i32.ge_u (local.get $t) (local.get $n)))
                (if (i32.lt_s (call $free_index (i32.add (local.get $s) (local.get $t)))
                              (i32.const 0))
                  (then (local.set $ok (i32.const 0)) (br $checked)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $more)))
            (if (local.get $ok) (then (local.set $best (local.get $s))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $each)))
    (if (i32.eq (local.get $best) (i32.const -1)) (then (return (i32.const -1))))
    ;; swap slot best+t into entry top+t (each slot is on the list once)
    (local.set $top (i32.sub (local.get $len) (local.get $n)))
    (local.set $t (i32.const 0))
    (block $moved
      (loop $each
        (br_if $moved (i32.ge_u (local.get $t) (local.get $n)))
        (local.set $at (call $free_index (i32.add (local.get $best) (local.get $t))))
        (local.set $v (i32.load (call $free_at (i32.add (local.get $top) (local.get $t)))))
        (i32.store (call $free_at (local.get $at)) (local.get $v))
        (i32.store (call $free_at (i32.add (local.get $top) (local.get $t)))
                   (i32.add (local.get $best) (local.get $t)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $each)))
    ;; the run is now the top n entries: entry top+t holds slot best+t
    (call $take_top (local.get $n))
    (local.get $best))

  ;; After a failed link: the reused slots still null go back on the list
  ;; (one a failed module did fill stays as it is, like a grown one).
  (func $give_back
    (local $i i32) (local $s i32) (local $len i32)
    (local.set $len (i32.load (i32.const 0x130)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (global.get $reuse_k)))
        (local.set $s (call $reused_slot (local.get $i)))
        (if (i32.lt_u (local.get $s) (table.size $table))
          (then
            (if (ref.is_null (table.get $table (local.get $s)))
              (then   ;; entry len <= entry reuse_at + i: never one still to read
                (i32.store (call $free_at (local.get $len)) (local.get $s))
                (local.set $len (i32.add (local.get $len) (i32.const 1)))
                (i32.store (i32.const 0x138)
                           (i32.sub (i32.load (i32.const 0x138)) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (i32.store (i32.const 0x130) (local.get $len))
    (global.set $reuse_k (i32.const 0)))
)
