;; GF(2^8) multiply-accumulate for Reed-Solomon coding, in WebAssembly SIMD128.
;;
;; out[j][i] = XOR over c of coef[j][c] * in[c][i], for every byte position i.
;;
;; A product coef * x is split on the nibbles of x: coef * x = coef * (x & 15) ^ coef * (x & 240),
;; and each half is a lookup in a 16-entry table, so 16 bytes are multiplied by two
;; i8x16.swizzle (the table shuffle of ISA-L and klauspost/reedsolomon).
;;
;; Memory layout, all prepared by the caller (src/erasure/wasm-kernel.ts):
;;   tables: for output j and input c, 32 bytes at tab + (j * nin + c) * 32:
;;           coef * [0..15] then coef * [0, 16, 32, .., 240]
;;   ins:    nin i32 addresses of the input shards
;;   outs:   nout i32 addresses of the output shards
;;   len:    bytes to compute, a multiple of 32 (shards are padded to that)
;; The caller feeds shards through in blocks small enough for all of them to stay in cache.
(module
  (memory (export "memory") 1)

  (func (export "dot")
    (param $tab i32) (param $ins i32) (param $nin i32)
    (param $outs i32) (param $nout i32) (param $len i32)
    (local $rowBytes i32)
    (if (i32.eqz (local.get $len)) (then (return)))
    (local.set $rowBytes (i32.shl (local.get $nin) (i32.const 5)))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.lt_u (local.get $nout) (i32.const 2)))
        (call $dot2
          (local.get $tab) (i32.add (local.get $tab) (local.get $rowBytes))
          (local.get $ins) (local.get $nin)
          (i32.load (local.get $outs)) (i32.load offset=4 (local.get $outs))
          (local.get $len))
        (local.set $tab (i32.add (local.get $tab) (i32.shl (local.get $rowBytes) (i32.const 1))))
        (local.set $outs (i32.add (local.get $outs) (i32.const 8)))
        (local.set $nout (i32.sub (local.get $nout) (i32.const 2)))
        (br $pairs)))
    (if (local.get $nout)
      (then
        (call $dot1 (local.get $tab) (local.get $ins) (local.get $nin)
          (i32.load (local.get $outs)) (local.get $len)))))

  ;; Two outputs, 32 bytes per step: each input vector is loaded and split into nibbles once
  ;; for both outputs, and the four accumulators stay in registers across all inputs.
  ;; (Four outputs per pass measured no faster: the swizzles, not the loads, bound the loop.)
  (func $dot2
    (param $tab0 i32) (param $tab1 i32) (param $ins i32) (param $nin i32)
    (param $out0 i32) (param $out1 i32) (param $len i32)
    (local $pos i32) (local $ip i32) (local $ipEnd i32) (local $src i32) (local $t i32)
    (local $mask v128) (local $v v128) (local $tlo v128) (local $thi v128)
    (local $loA v128) (local $hiA v128) (local $loB v128) (local $hiB v128)
    (local $acc0A v128) (local $acc0B v128) (local $acc1A v128) (local $acc1B v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $ipEnd (i32.add (local.get $ins) (i32.shl (local.get $nin) (i32.const 2))))
    (loop $positions
      (local.set $acc0A (v128.const i64x2 0 0))
      (local.set $acc0B (v128.const i64x2 0 0))
      (local.set $acc1A (v128.const i64x2 0 0))
      (local.set $acc1B (v128.const i64x2 0 0))
      (local.set $ip (local.get $ins))
      (local.set $t (i32.const 0))
      (loop $inputs
        (local.set $src (i32.add (i32.load (local.get $ip)) (local.get $pos)))
        (local.set $v (v128.load (local.get $src)))
        (local.set $loA (v128.and (local.get $v) (local.get $mask)))
        (local.set $hiA (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $mask)))
        (local.set $v (v128.load offset=16 (local.get $src)))
        (local.set $loB (v128.and (local.get $v) (local.get $mask)))
        (local.set $hiB (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $mask)))

        (local.set $tlo (v128.load (i32.add (local.get $tab0) (local.get $t))))
        (local.set $thi (v128.load offset=16 (i32.add (local.get $tab0) (local.get $t))))
        (local.set $acc0A (v128.xor (local.get $acc0A)
          (v128.xor (i8x16.swizzle (local.get $tlo) (local.get $loA))
                    (i8x16.swizzle (local.get $thi) (local.get $hiA)))))
        (local.set $acc0B (v128.xor (local.get $acc0B)
          (v128.xor (i8x16.swizzle (local.get $tlo) (local.get $loB))
                    (i8x16.swizzle (local.get $thi) (local.get $hiB)))))

        (local.set $tlo (v128.load (i32.add (local.get $tab1) (local.get $t))))
        (local.set $thi (v128.load offset=16 (i32.add (local.get $tab1) (local.get $t))))
        (local.set $acc1A (v128.xor (local.get $acc1A)
          (v128.xor (i8x16.swizzle (local.get $tlo) (local.get $loA))
                    (i8x16.swizzle (local.get $thi) (local.get $hiA)))))
        (local.set $acc1B (v128.xor (local.get $acc1B)
          (v128.xor (i8x16.swizzle (local.get $tlo) (local.get $loB))
                    (i8x16.swizzle (local.get $thi) (local.get $hiB)))))

        (local.set $t (i32.add (local.get $t) (i32.const 32)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $inputs (i32.lt_u (local.get $ip) (local.get $ipEnd))))
      (v128.store (i32.add (local.get $out0) (local.get $pos)) (local.get $acc0A))
      (v128.store offset=16 (i32.add (local.get $out0) (local.get $pos)) (local.get $acc0B))
      (v128.store (i32.add (local.get $out1) (local.get $pos)) (local.get $acc1A))
      (v128.store offset=16 (i32.add (local.get $out1) (local.get $pos)) (local.get $acc1B))
      (local.set $pos (i32.add (local.get $pos) (i32.const 32)))
      (br_if $positions (i32.lt_u (local.get $pos) (local.get $len)))))

  ;; One output (the last one when their number is odd), 32 bytes per step.
  (func $dot1
    (param $tab i32) (param $ins i32) (param $nin i32)
    (param $out i32) (param $len i32)
    (local $pos i32) (local $ip i32) (local $ipEnd i32) (local $src i32) (local $t i32)
    (local $mask v128) (local $v v128) (local $tlo v128) (local $thi v128)
    (local $accA v128) (local $accB v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $ipEnd (i32.add (local.get $ins) (i32.shl (local.get $nin) (i32.const 2))))
    (loop $positions
      (local.set $accA (v128.const i64x2 0 0))
      (local.set $accB (v128.const i64x2 0 0))
      (local.set $ip (local.get $ins))
      (local.set $t (local.get $tab))
      (loop $inputs
        (local.set $src (i32.add (i32.load (local.get $ip)) (local.get $pos)))
        (local.set $tlo (v128.load (local.get $t)))
        (local.set $thi (v128.load offset=16 (local.get $t)))
        (local.set $v (v128.load (local.get $src)))
        (local.set $accA (v128.xor (local.get $accA)
          (v128.xor (i8x16.swizzle (local.get $tlo) (v128.and (local.get $v) (local.get $mask)))
                    (i8x16.swizzle (local.get $thi) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $mask))))))
        (local.set $v (v128.load offset=16 (local.get $src)))
        (local.set $accB (v128.xor (local.get $accB)
          (v128.xor (i8x16.swizzle (local.get $tlo) (v128.and (local.get $v) (local.get $mask)))
                    (i8x16.swizzle (local.get $thi) (v128.and (i16x8.shr_u (local.get $v) (i32.const 4)) (local.get $mask))))))
        (local.set $t (i32.add (local.get $t) (i32.const 32)))
        (local.set $ip (i32.add (local.get $ip) (i32.const 4)))
        (br_if $inputs (i32.lt_u (local.get $ip) (local.get $ipEnd))))
      (v128.store (i32.add (local.get $out) (local.get $pos)) (local.get $accA))
      (v128.store offset=16 (i32.add (local.get $out) (local.get $pos)) (local.get $accB))
      (local.set $pos (i32.add (local.get $pos) (i32.const 32)))
      (br_if $positions (i32.lt_u (local.get $pos) (local.get $len))))))
