;; Standard normal samples by a 256-layer ziggurat over four xoshiro128** generators run
;; side by side in one SIMD register: sample 4i+j comes from lane j. Rejected samples (about
;; 1 in 100) are redrawn by a fifth, scalar generator. src/weights/normal.ts holds the same
;; algorithm in plain JavaScript; a test holds the two to the same bits.
;;
;; Memory layout (offsets in bytes), filled by the caller before `normal` runs:
;;   0      k: i32[256]   a layer's fast-path bound on |position|
;;   1024   wf: f32[256]  a layer's width times the standard deviation (written by `normal`)
;;   2048   w: f64[256]   a layer's width (position -> value)
;;   4096   f: f64[256]   exp(-x^2/2) at a layer's edge
;;   6144   state: the lanes' a, b, c, d (4 x i32 each), then the scalar generator's a, b, c, d
;;   6224   scratch: a group's positions and layers (4 x i32 each) when a lane missed
;;   65536  out: f32[65536] the samples of one call
(module
  (import "math" "log" (func $log (param f64) (result f64)))
  (import "math" "exp" (func $exp (param f64) (result f64)))
  (memory (export "memory") 5)

  (global $sa (mut i32) (i32.const 0))
  (global $sb (mut i32) (i32.const 0))
  (global $sc (mut i32) (i32.const 0))
  (global $sd (mut i32) (i32.const 0))

  ;; The scalar generator's next word.
  (func $next (result i32)
    (local $result i32) (local $t i32)
    (local.set $result
      (i32.mul (i32.rotl (i32.mul (global.get $sb) (i32.const 5)) (i32.const 7)) (i32.const 9)))
    (local.set $t (i32.shl (global.get $sb) (i32.const 9)))
    (global.set $sc (i32.xor (global.get $sc) (global.get $sa)))
    (global.set $sd (i32.xor (global.get $sd) (global.get $sb)))
    (global.set $sb (i32.xor (global.get $sb) (global.get $sc)))
    (global.set $sa (i32.xor (global.get $sa) (global.get $sd)))
    (global.set $sc (i32.xor (global.get $sc) (local.get $t)))
    (global.set $sd (i32.rotl (global.get $sd) (i32.const 11)))
    (local.get $result))

  ;; Uniform in (0, 1]: never 0, so its logarithm is finite.
  (func $uniform (result f64)
    (f64.div
      (f64.add (f64.convert_i32_u (call $next)) (f64.const 1))
      (f64.const 4294967296)))

  ;; A standard normal sample for a draw (position hz, layer iz) that missed the fast path:
  ;; the wedge test, the tail beyond R = 3.6541528853610088, or a fresh draw.
  (func $slow (param $hz i32) (param $iz i32) (result f64)
    (local $x f64) (local $tx f64) (local $ty f64) (local $u i32) (local $fi f64)
    (loop $again (result f64)
      (local.set $x
        (f64.mul (f64.convert_i32_s (local.get $hz))
                 (f64.load offset=2048 (i32.shl (local.get $iz) (i32.const 3)))))
      (if (i32.eqz (local.get $iz))
        (then
          (loop $tail
            (local.set $tx
              (f64.div (f64.neg (call $log (call $uniform))) (f64.const 3.6541528853610088)))
            (local.set $ty (f64.neg (call $log (call $uniform))))
            (br_if $tail
              (f64.lt (f64.add (local.get $ty) (local.get $ty))
                      (f64.mul (local.get $tx) (local.get $tx)))))
          (return
            (select
              (f64.add (f64.const 3.6541528853610088) (local.get $tx))
              (f64.sub (f64.const -3.6541528853610088) (local.get $tx))
              (i32.gt_s (local.get $hz) (i32.const 0))))))
      (local.set $fi (f64.load offset=4096 (i32.shl (local.get $iz) (i32.const 3))))
      (if (f64.lt
            (f64.add (local.get $fi)
                     (f64.mul (call $uniform)
                              (f64.sub (f64.load offset=4088 (i32.shl (local.get $iz) (i32.const 3)))
                                       (local.get $fi))))
            (call $exp (f64.mul (f64.const -0.5) (f64.mul (local.get $x) (local.get $x)))))
        (then (return (local.get $x))))
      (local.set $u (call $next))
      (local.set $iz (i32.and (local.get $u) (i32.const 255)))
      (local.set $hz (i32.shr_s (local.get $u) (i32.const 8)))
      (if (i32.lt_s
            (select (local.get $hz) (i32.sub (i32.const 0) (local.get $hz)) (i32.ge_s (local.get $hz) (i32.const 0)))
            (i32.load (i32.shl (local.get $iz) (i32.const 2))))
        (then
          (return
            (f64.mul (f64.convert_i32_s (local.get $hz))
                     (f64.load offset=2048 (i32.shl (local.get $iz) (i32.const 3)))))))
      (br $again)))

  ;; Writes n samples (a multiple of 4, at most 65536) times std at offset 65536, continuing
  ;; from the generators' state in memory and leaving their new state there. Each float32
  ;; sample is then multiplied by $factor in double precision and rounded again, which is
  ;; what folding a norm's scale into the weights afterwards gives (and nothing when it is 1).
  (func (export "normal") (param $n i32) (param $std f64) (param $factor f64)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $m v128) (local $r v128) (local $t v128)
    (local $iz v128) (local $hz v128) (local $k v128) (local $wf v128) (local $values v128) (local $scale v128)
    (local $i i32) (local $p i32) (local $end i32) (local $missed i32) (local $lane i32)

    ;; The layers' widths for this standard deviation, as float32.
    (local.set $i (i32.const 0))
    (loop $widths
      (f32.store offset=1024 (i32.shl (local.get $i) (i32.const 2))
        (f32.demote_f64
          (f64.mul (f64.load offset=2048 (i32.shl (local.get $i) (i32.const 3))) (local.get $std))))
      (br_if $widths (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 256))))

    (local.set $a (v128.load offset=6144 (i32.const 0)))
    (local.set $b (v128.load offset=6160 (i32.const 0)))
    (local.set $c (v128.load offset=6176 (i32.const 0)))
    (local.set $d (v128.load offset=6192 (i32.const 0)))
    (global.set $sa (i32.load offset=6208 (i32.const 0)))
    (global.set $sb (i32.load offset=6212 (i32.const 0)))
    (global.set $sc (i32.load offset=6216 (i32.const 0)))
    (global.set $sd (i32.load offset=6220 (i32.const 0)))

    (local.set $scale (f64x2.splat (local.get $factor)))
    (local.set $p (i32.const 65536))
    (local.set $end (i32.add (i32.const 65536) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (loop $group
        ;; xoshiro128** on four lanes.
        (local.set $m (i32x4.mul (local.get $b) (i32x4.splat (i32.const 5))))
        (local.set $r
          (i32x4.mul
            (v128.or (i32x4.shl (local.get $m) (i32.const 7)) (i32x4.shr_u (local.get $m) (i32.const 25)))
            (i32x4.splat (i32.const 9))))
        (local.set $t (i32x4.shl (local.get $b) (i32.const 9)))
        (local.set $c (v128.xor (local.get $c) (local.get $a)))
        (local.set $d (v128.xor (local.get $d) (local.get $b)))
        (local.set $b (v128.xor (local.get $b) (local.get $c)))
        (local.set $a (v128.xor (local.get $a) (local.get $d)))
        (local.set $c (v128.xor (local.get $c) (local.get $t)))
        (local.set $d
          (v128.or (i32x4.shl (local.get $d) (i32.const 11)) (i32x4.shr_u (local.get $d) (i32.const 21))))

        ;; Low 8 bits: the layer; the other 24, signed: the position.
        (local.set $iz (v128.and (local.get $r) (i32x4.splat (i32.const 255))))
        (local.set $hz (i32x4.shr_s (local.get $r) (i32.const 8)))
        (local.set $k
          (i32x4.replace_lane 3
            (i32x4.replace_lane 2
              (i32x4.replace_lane 1
                (i32x4.splat (i32.load (i32.shl (i32x4.extract_lane 0 (local.get $iz)) (i32.const 2))))
                (i32.load (i32.shl (i32x4.extract_lane 1 (local.get $iz)) (i32.const 2))))
              (i32.load (i32.shl (i32x4.extract_lane 2 (local.get $iz)) (i32.const 2))))
            (i32.load (i32.shl (i32x4.extract_lane 3 (local.get $iz)) (i32.const 2)))))
        (local.set $wf
          (f32x4.replace_lane 3
            (f32x4.replace_lane 2
              (f32x4.replace_lane 1
                (f32x4.splat (f32.load offset=1024 (i32.shl (i32x4.extract_lane 0 (local.get $iz)) (i32.const 2))))
                (f32.load offset=1024 (i32.shl (i32x4.extract_lane 1 (local.get $iz)) (i32.const 2))))
              (f32.load offset=1024 (i32.shl (i32x4.extract_lane 2 (local.get $iz)) (i32.const 2))))
            (f32.load offset=1024 (i32.shl (i32x4.extract_lane 3 (local.get $iz)) (i32.const 2)))))
        (local.set $values (f32x4.mul (f32x4.convert_i32x4_s (local.get $hz)) (local.get $wf)))
        (v128.store (local.get $p)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.mul (f64x2.promote_low_f32x4 (local.get $values)) (local.get $scale)))
            (f32x4.demote_f64x2_zero
              (f64x2.mul
                (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $values) (local.get $values)))
                (local.get $scale)))))

        ;; Lanes whose position is outside their layer's rectangle take the slow path, in lane order.
        (local.set $missed
          (i32.xor
            (i32x4.bitmask (i32x4.lt_s (i32x4.abs (local.get $hz)) (local.get $k)))
            (i32.const 15)))
        (if (local.get $missed)
          (then
            (v128.store offset=6224 (i32.const 0) (local.get $hz))
            (v128.store offset=6240 (i32.const 0) (local.get $iz))
            (local.set $lane (i32.const 0))
            (loop $lanes
              (if (i32.and (local.get $missed) (i32.shl (i32.const 1) (local.get $lane)))
                (then
                  (f32.store
                    (i32.add (local.get $p) (i32.shl (local.get $lane) (i32.const 2)))
                    (f32.demote_f64
                      (f64.mul
                        (f64.promote_f32
                          (f32.demote_f64
                            (f64.mul
                              (call $slow
                                (i32.load offset=6224 (i32.shl (local.get $lane) (i32.const 2)))
                                (i32.load offset=6240 (i32.shl (local.get $lane) (i32.const 2))))
                              (local.get $std))))
                        (local.get $factor))))))
              (br_if $lanes (i32.lt_u (local.tee $lane (i32.add (local.get $lane) (i32.const 1))) (i32.const 4))))))

        (br_if $group (i32.lt_u (local.tee $p (i32.add (local.get $p) (i32.const 16))) (local.get $end)))))

    (v128.store offset=6144 (i32.const 0) (local.get $a))
    (v128.store offset=6160 (i32.const 0) (local.get $b))
    (v128.store offset=6176 (i32.const 0) (local.get $c))
    (v128.store offset=6192 (i32.const 0) (local.get $d))
    (i32.store offset=6208 (i32.const 0) (global.get $sa))
    (i32.store offset=6212 (i32.const 0) (global.get $sb))
    (i32.store offset=6216 (i32.const 0) (global.get $sc))
    (i32.store offset=6220 (i32.const 0) (global.get $sd))))
