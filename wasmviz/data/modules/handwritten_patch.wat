;; A module written by hand against docs/abi.md (docs/foreign-modules.md walks through it).
;;
;; It installs one function, $square, in a new slot of main's table and relocates the code
;; slot of main's function object named "square" to that slot, so a call through main
;; (`--call square 7`) reaches it with call_indirect. It links the way main's own modules do
;; in link style patch: the host calls its exported `patch` after instantiating it, and it
;; tells the host what it did with notes (GROW 16, SET 17, RELOC 18), so each is a step.
;;
;;   wasmviz trace --source wasmviz/data/modules/square.wv --call square 7 \
;;       --module wasmviz/data/modules/handwritten_patch.wat
(module
  ;; Everything it links against is main's, imported by name.
  (import "host" "note" (func $note (param i32 i32 i32)))
  (import "main" "table" (table $table 0 funcref))
  (import "main" "memory" (memory 1))
  ;; The layout globals: where the function objects and the VM state are. Nothing is
  ;; hard-coded; main exports these, the host passes them on.
  (import "main" "FUNCS_BASE" (global $FUNCS_BASE i32))
  (import "main" "FUNC_SIZE" (global $FUNC_SIZE i32))
  (import "main" "STATE_BASE" (global $STATE_BASE i32))

  ;; The calling convention ($sig_1): the one parameter, then self (the function object's
  ;; address), result i32. call_indirect checks exactly this type.
  (func $square (export "square") (param $x i32) (param $self i32) (result i32)
    (i32.mul (local.get $x) (local.get $x)))

  ;; Declares $square for ref.func (exporting it would too).
  (elem declare func $square)

  ;; The function object named "square" with one parameter, or 0. Objects are FUNC_SIZE
  ;; bytes from FUNCS_BASE; the state block's first field counts them. Object fields:
  ;; +0 code slot, +12 parameter count, +24 name pointer, +28 name length.
  (func $find (result i32)
    (local $obj i32) (local $end i32) (local $name i32)
    (local.set $obj (global.get $FUNCS_BASE))
    (local.set $end (i32.add (global.get $FUNCS_BASE)
                             (i32.mul (i32.load (global.get $STATE_BASE))
                                      (global.get $FUNC_SIZE))))
    (block $none
      (loop $next
        (br_if $none (i32.ge_u (local.get $obj) (local.get $end)))
        (local.set $name (i32.load offset=24 (local.get $obj)))
        (if (i32.and
              (i32.and (i32.eq (i32.load offset=28 (local.get $obj)) (i32.const 6))
                       (i32.eq (i32.load offset=12 (local.get $obj)) (i32.const 1)))
              (i32.and (i32.eq (i32.load (local.get $name)) (i32.const 0x61757173)) ;; "squa"
                       (i32.eq (i32.load16_u offset=4 (local.get $name))
                               (i32.const 0x6572))))                              ;; "re"
          (then (return (local.get $obj))))
        (local.set $obj (i32.add (local.get $obj) (global.get $FUNC_SIZE)))
        (br $next)))
    (i32.const 0))

  (func (export "patch")
    (local $obj i32) (local $slot i32)
    (local.set $obj (call $find))
    (if (i32.eqz (local.get $obj)) (then (return)))   ;; no "square": nothing to link
    ;; one new slot; -1 means the store's table limit is reached
    (local.set $slot (table.grow $table (ref.null func) (i32.const 1)))
    (if (i32.eq (local.get $slot) (i32.const -1)) (then (unreachable)))
    (call $note (i32.const 16) (local.get $slot) (i32.const 1))          ;; GROW
    (table.set $table (local.get $slot) (ref.func $square))
    (call $note (i32.const 17) (local.get $slot) (local.get $obj))       ;; SET
    ;; the relocation: square's code slot now names the new table slot
    (i32.store (local.get $obj) (local.get $slot))
    (call $note (i32.const 18) (local.get $obj) (local.get $slot))))     ;; RELOC
