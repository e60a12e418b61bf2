;; SIMD loops for this project's kernels on tfjs's wasm backend (src/tfjs/simd-kernels.ts
;; instantiates this module on the backend's own memory and calls it from the kernels in
;; wasm-kernels.ts and batch-norm-kernels.ts). Every pointer is a byte offset into that
;; memory, of a tensor the backend allocated. Tensors are float32, NHWC: `rows` = N·H·W
;; rows of C channels. The channel loops take 4 channels a step, so C must be a multiple of
;; 4 (filter_grad: 4 input and 8 output channels); the callers take another path otherwise.
;;
;; scripts/wasm-module.ts assembles it twice: as written, for the backend's single-threaded
;; build (a plain memory), and with the import made `(memory 1 65536 shared)` for its
;; threaded build.
(module
  (import "env" "memory" (memory 1))

  ;; ---- per-channel sums over rows: f32 within blocks of 64 rows, f64 across blocks ----

  ;; The f64 sums of the 4 channels at byte offset $g of two f32x4 block sums, added to out[g/4..]
  ;; (out: f64[C] at $out, then f64[C] at $out + 8C).
  (func $flush (param $out i32) (param $c i32) (param $g i32) (param $a1 v128) (param $a2 v128)
    (local $p i32)
    (local.set $p (i32.add (local.get $out) (i32.shl (local.get $g) (i32.const 1))))
    (v128.store (local.get $p)
      (f64x2.add (v128.load (local.get $p)) (f64x2.promote_low_f32x4 (local.get $a1))))
    (v128.store offset=16 (local.get $p)
      (f64x2.add (v128.load offset=16 (local.get $p))
                 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a1) (local.get $a1)))))
    (local.set $p (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 3))))
    (v128.store (local.get $p)
      (f64x2.add (v128.load (local.get $p)) (f64x2.promote_low_f32x4 (local.get $a2))))
    (v128.store offset=16 (local.get $p)
      (f64x2.add (v128.load offset=16 (local.get $p))
                 (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a2) (local.get $a2))))))

  ;; out[k] = Σ (x − shift[k]),  out[C + k] = Σ (x − shift[k])²  over the rows (f64; zeroed first).
  (func (export "channel_moments") (param $x i32) (param $rows i32) (param $c i32) (param $shift i32) (param $out i32)
    (local $stride i32) (local $g i32) (local $row i32) (local $end i32) (local $p i32)
    (local $s v128) (local $d v128) (local $a1 v128) (local $a2 v128)
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    (local.set $g (i32.const 0))
    (block $gdone (loop $gloop
      (br_if $gdone (i32.ge_u (local.get $g) (local.get $stride)))
      (local.set $s (v128.load (i32.add (local.get $shift) (local.get $g))))
      (local.set $row (i32.const 0))
      (block $done (loop $blocks
        (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $end (i32.add (local.get $row) (i32.const 64)))
        (if (i32.gt_u (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (i32.add (local.get $x) (local.get $g)) (i32.mul (local.get $row) (local.get $stride))))
        (loop $inner
          (local.set $d (f32x4.sub (v128.load (local.get $p)) (local.get $s)))
          (local.set $a1 (f32x4.add (local.get $a1) (local.get $d)))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $d) (local.get $d))))
          (local.set $p (i32.add (local.get $p) (local.get $stride)))
          (local.set $row (i32.add (local.get $row) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $row) (local.get $end))))
        (call $flush (local.get $out) (local.get $c) (local.get $g) (local.get $a1) (local.get $a2))
        (br $blocks)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (br $gloop))))

  ;; out[k] = Σ dy,  out[C + k] = Σ dy · (x − mean[k])  over the rows (f64; zeroed first).
  (func (export "channel_dot") (param $dy i32) (param $x i32) (param $rows i32) (param $c i32) (param $mean i32) (param $out i32)
    (local $stride i32) (local $g i32) (local $row i32) (local $end i32) (local $p i32) (local $q i32)
    (local $m v128) (local $e v128) (local $a1 v128) (local $a2 v128)
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $c) (i32.const 4)))
    (local.set $g (i32.const 0))
    (block $gdone (loop $gloop
      (br_if $gdone (i32.ge_u (local.get $g) (local.get $stride)))
      (local.set $m (v128.load (i32.add (local.get $mean) (local.get $g))))
      (local.set $row (i32.const 0))
      (block $done (loop $blocks
        (br_if $done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $end (i32.add (local.get $row) (i32.const 64)))
        (if (i32.gt_u (local.get $end) (local.get $rows)) (then (local.set $end (local.get $rows))))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (i32.add (local.get $dy) (local.get $g)) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $q (i32.add (i32.add (local.get $x) (local.get $g)) (i32.mul (local.get $row) (local.get $stride))))
        (loop $inner
          (local.set $e (v128.load (local.get $p)))
          (local.set $a1 (f32x4.add (local.get $a1) (local.get $e)))
          (local.set $a2 (f32x4.add (local.get $a2)
            (f32x4.mul (local.get $e) (f32x4.sub (v128.load (local.get $q)) (local.get $m)))))
          (local.set $p (i32.add (local.get $p) (local.get $stride)))
          (local.set $q (i32.add (local.get $q) (local.get $stride)))
          (local.set $row (i32.add (local.get $row) (i32.const 1)))
          (br_if $inner (i32.lt_u (local.get $row) (local.get $end))))
        (call $flush (local.get $out) (local.get $c) (local.get $g) (local.get $a1) (local.get $a2))
        (br $blocks)))
      (local.set $g (i32.add (local.get $g) (i32.const 16)))
      (br $gloop))))

  ;; ---- per-channel affine maps ----

  ;; y = (x − s[k])·a[k] + b[k].
  (func (export "affine") (param $x i32) (param $y i32) (param $rows i32) (param $c i32) (param $s i32) (param $a i32) (param $b i32)
    (local $stride i32) (local $end i32) (local $g i32)
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $stride))))
    (block $done (loop $rowloop
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $g (i32.const 0))
      (loop $gloop
        (v128.store (i32.add (local.get $y) (local.get $g))
          (f32x4.add
            (f32x4.mul
              (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $g))) (v128.load (i32.add (local.get $s) (local.get $g))))
              (v128.load (i32.add (local.get $a) (local.get $g))))
            (v128.load (i32.add (local.get $b) (local.get $g)))))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (br_if $gloop (i32.lt_u (local.get $g) (local.get $stride))))
      (local.set $x (i32.add (local.get $x) (local.get $stride)))
      (local.set $y (i32.add (local.get $y) (local.get $stride)))
      (br $rowloop))))

  ;; dx = dy·p[k] + (x − mean[k])·q[k] + r[k].
  (func (export "affine_grad") (param $dy i32) (param $x i32) (param $dx i32) (param $rows i32) (param $c i32)
      (param $mean i32) (param $p i32) (param $q i32) (param $r i32)
    (local $stride i32) (local $end i32) (local $g i32)
    (local.set $stride (i32.shl (local.get $c) (i32.const 2)))
    (local.set $end (i32.add (local.get $x) (i32.mul (local.get $rows) (local.get $stride))))
    (block $done (loop $rowloop
      (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
      (local.set $g (i32.const 0))
      (loop $gloop
        (v128.store (i32.add (local.get $dx) (local.get $g))
          (f32x4.add
            (f32x4.add
              (f32x4.mul (v128.load (i32.add (local.get $dy) (local.get $g))) (v128.load (i32.add (local.get $p) (local.get $g))))
              (f32x4.mul
                (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $g))) (v128.load (i32.add (local.get $mean) (local.get $g))))
                (v128.load (i32.add (local.get $q) (local.get $g)))))
            (v128.load (i32.add (local.get $r) (local.get $g)))))
        (local.set $g (i32.add (local.get $g) (i32.const 16)))
        (br_if $gloop (i32.lt_u (local.get $g) (local.get $stride))))
      (local.set $x (i32.add (local.get $x) (local.get $stride)))
      (local.set $dy (i32.add (local.get $dy) (local.get $stride)))
      (local.set $dx (i32.add (local.get $dx) (local.get $stride)))
      (br $rowloop))))

  ;; ---- ReLU's gradient ----

  ;; dx = dy where x > 0, else 0 ($n floats; NaN in x gives 0, as PyTorch's threshold_backward).
  (func (export "relu_grad") (param $dy i32) (param $x i32) (param $dx i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dx) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone (loop $v
      (br_if $vdone (i32.gt_u (i32.add (local.get $dx) (i32.const 16)) (local.get $end)))
      (v128.store (local.get $dx)
        (v128.and (v128.load (local.get $dy)) (f32x4.gt (v128.load (local.get $x)) (v128.const f32x4 0 0 0 0))))
      (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
      (local.set $x (i32.add (local.get $x) (i32.const 16)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 16)))
      (br $v)))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $dx) (local.get $end)))
      (f32.store (local.get $dx)
        (select (f32.load (local.get $dy)) (f32.const 0) (f32.gt (f32.load (local.get $x)) (f32.const 0))))
      (local.set $dy (i32.add (local.get $dy) (i32.const 4)))
      (local.set $x (i32.add (local.get $x) (i32.const 4)))
      (local.set $dx (i32.add (local.get $dx) (i32.const 4)))
      (br $one))))

  ;; ---- a convolution's filter gradient, directly ----

  ;; dw[fy, fx, c, o] = Σ over b, oy, ox of x[b, oy·sh − top + fy, ox·sw − left + fx, c] · dy[b, oy, ox, o]
  ;; (x NHWC n·h·w·ci, dy NHWC n·oh·ow·co, dw HWIO kh·kw·ci·co; taps in the padding add nothing),
  ;; for ci a multiple of 4 and co of 8. A 4 x 8 block of dw is held in eight registers while
  ;; an image's pixels stream past (one image at a time, so that its x and dy stay in cache):
  ;; per pixel, two loads of dy, four broadcasts of x, eight multiply-adds.
  (func (export "filter_grad")
    (param $x i32) (param $dy i32) (param $dw i32)
    (param $n i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $oh i32) (param $ow i32) (param $co i32) (param $kh i32) (param $kw i32)
    (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $b i32) (local $fy i32) (local $fx i32) (local $cb i32) (local $ob i32)
    (local $x0 i32) (local $x1 i32) (local $a i32) (local $oy i32) (local $y i32)
    (local $px i32) (local $pd i32) (local $pend i32) (local $xstep i32) (local $dstep i32) (local $pw i32)
    (local $imgX i32) (local $imgD i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $d0 v128) (local $d1 v128) (local $s v128)
    (memory.fill (local.get $dw) (i32.const 0) (i32.shl (i32.mul (i32.mul (i32.mul (local.get $kh) (local.get $kw)) (local.get $ci)) (local.get $co)) (i32.const 2)))
    (local.set $xstep (i32.shl (i32.mul (local.get $sw) (local.get $ci)) (i32.const 2)))
    (local.set $dstep (i32.shl (local.get $co) (i32.const 2)))
    (local.set $b (i32.const 0))
    (loop $bl
      (local.set $imgX (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (local.get $b) (i32.mul (local.get $h) (local.get $w))) (local.get $ci)) (i32.const 2))))
      (local.set $imgD (i32.add (local.get $dy) (i32.shl (i32.mul (i32.mul (local.get $b) (i32.mul (local.get $oh) (local.get $ow))) (local.get $co)) (i32.const 2))))
      (local.set $fy (i32.const 0))
      (loop $fyl
        (local.set $fx (i32.const 0))
        (loop $fxl
          (local.set $a (i32.sub (local.get $left) (local.get $fx)))
          (local.set $x0 (i32.const 0))
          (if (i32.gt_s (local.get $a) (i32.const 0))
            (then (local.set $x0 (i32.div_s (i32.add (local.get $a) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw)))))
          (local.set $a (i32.add (i32.sub (local.get $w) (i32.const 1)) (i32.sub (local.get $left) (local.get $fx))))
          (local.set $x1 (i32.const 0))
          (if (i32.ge_s (local.get $a) (i32.const 0))
            (then (local.set $x1 (i32.add (i32.div_s (local.get $a) (local.get $sw)) (i32.const 1)))))
          (if (i32.gt_s (local.get $x1) (local.get $ow)) (then (local.set $x1 (local.get $ow))))
          (if (i32.lt_s (local.get $x0) (local.get $x1)) (then
          (local.set $cb (i32.const 0))
          (loop $cbl
            (local.set $ob (i32.const 0))
            (loop $obl
              ;; dw row (fy, fx, cb..cb+3), columns ob..ob+7
              (local.set $pw (i32.add (local.get $dw)
                (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $fy) (local.get $kw)) (local.get $fx)) (local.get $ci)) (local.get $cb)) (local.get $co)) (local.get $ob)) (i32.const 2))))
              (local.set $a0 (v128.load (local.get $pw)))
              (local.set $a1 (v128.load offset=16 (local.get $pw)))
              (local.set $pw (i32.add (local.get $pw) (local.get $dstep)))
              (local.set $a2 (v128.load (local.get $pw)))
              (local.set $a3 (v128.load offset=16 (local.get $pw)))
              (local.set $pw (i32.add (local.get $pw) (local.get $dstep)))
              (local.set $a4 (v128.load (local.get $pw)))
              (local.set $a5 (v128.load offset=16 (local.get $pw)))
              (local.set $pw (i32.add (local.get $pw) (local.get $dstep)))
              (local.set $a6 (v128.load (local.get $pw)))
              (local.set $a7 (v128.load offset=16 (local.get $pw)))
              (local.set $oy (i32.const 0))
              (loop $oyl
                (local.set $y (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)) (local.get $fy)))
                (if (i32.and (i32.ge_s (local.get $y) (i32.const 0)) (i32.lt_s (local.get $y) (local.get $h))) (then
                  (local.set $px (i32.add (local.get $imgX)
                    (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $y) (local.get $w)) (i32.add (i32.sub (i32.mul (local.get $x0) (local.get $sw)) (local.get $left)) (local.get $fx))) (local.get $ci)) (local.get $cb)) (i32.const 2))))
                  (local.set $pd (i32.add (local.get $imgD)
                    (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $oy) (local.get $ow)) (local.get $x0)) (local.get $co)) (local.get $ob)) (i32.const 2))))
                  (local.set $pend (i32.add (local.get $pd) (i32.mul (i32.sub (local.get $x1) (local.get $x0)) (local.get $dstep))))
                  (loop $oxl
                    (local.set $d0 (v128.load (local.get $pd)))
                    (local.set $d1 (v128.load offset=16 (local.get $pd)))
                    (local.set $s (v128.load32_splat (local.get $px)))
                    (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $s (v128.load32_splat offset=4 (local.get $px)))
                    (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $s (v128.load32_splat offset=8 (local.get $px)))
                    (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $s (v128.load32_splat offset=12 (local.get $px)))
                    (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $s) (local.get $d0))))
                    (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $s) (local.get $d1))))
                    (local.set $px (i32.add (local.get $px) (local.get $xstep)))
                    (local.set $pd (i32.add (local.get $pd) (local.get $dstep)))
                    (br_if $oxl (i32.lt_u (local.get $pd) (local.get $pend))))))
                (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
                (br_if $oyl (i32.lt_s (local.get $oy) (local.get $oh))))
              (local.set $pw (i32.sub (local.get $pw) (i32.mul (local.get $dstep) (i32.const 3))))
              (v128.store (local.get $pw) (local.get $a0))
              (v128.store offset=16 (local.get $pw) (local.get $a1))
              (local.set $pw (i32.add (local.get $pw) (local.get $dstep)))
              (v128.store (local.get $pw) (local.get $a2))
              (v128.store offset=16 (local.get $pw) (local.get $a3))
              (local.set $pw (i32.add (local.get $pw) (local.get $dstep)))
              (v128.store (local.get $pw) (local.get $a4))
              (v128.store offset=16 (local.get $pw) (local.get $a5))
              (local.set $pw (i32.add (local.get $pw) (local.get $dstep)))
              (v128.store (local.get $pw) (local.get $a6))
              (v128.store offset=16 (local.get $pw) (local.get $a7))
              (local.set $ob (i32.add (local.get $ob) (i32.const 8)))
              (br_if $obl (i32.lt_s (local.get $ob) (local.get $co))))
            (local.set $cb (i32.add (local.get $cb) (i32.const 4)))
            (br_if $cbl (i32.lt_s (local.get $cb) (local.get $ci))))))
          (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
          (br_if $fxl (i32.lt_s (local.get $fx) (local.get $kw))))
        (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
        (br_if $fyl (i32.lt_s (local.get $fy) (local.get $kh))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $bl (i32.lt_s (local.get $b) (local.get $n)))))

  ;; ---- a strided convolution's input gradient, reassembled ----

  ;; dst[b, ry + sy·j, rx + sx·i, :] = src[b, j, i, :] for j < jn, i < in (src n·jn·in·c floats,
  ;; dst n·h·w·c; NHWC): one residue class of the input gradient put in its place.
  (func (export "scatter_phase") (param $src i32) (param $dst i32) (param $n i32) (param $jn i32) (param $in i32) (param $c i32)
      (param $h i32) (param $w i32) (param $ry i32) (param $rx i32) (param $sy i32) (param $sx i32)
    (local $b i32) (local $j i32) (local $i i32) (local $d i32) (local $cb i32) (local $step i32)
    (local.set $cb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $step (i32.mul (local.get $sx) (local.get $cb)))
    (local.set $b (i32.const 0))
    (loop $bl
      (local.set $j (i32.const 0))
      (loop $jl
        (local.set $d (i32.add (local.get $dst)
          (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.add (local.get $ry) (i32.mul (local.get $sy) (local.get $j)))) (local.get $w)) (local.get $rx)) (local.get $cb))))
        (local.set $i (i32.const 0))
        (loop $il
          (call $copy (local.get $d) (local.get $src) (local.get $c) (i32.const 4))
          (local.set $src (i32.add (local.get $src) (local.get $cb)))
          (local.set $d (i32.add (local.get $d) (local.get $step)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $il (i32.lt_u (local.get $i) (local.get $in))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $jl (i32.lt_u (local.get $j) (local.get $jn))))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br_if $bl (i32.lt_u (local.get $b) (local.get $n)))))

  ;; ---- the transposed patch matrix of a convolution (im2col), for its filter gradient ----

  ;; $n floats of 0 at $p (stores, not memory.fill: the runs are short, a call costs more).
  (func $zero (param $p i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $vdone (loop $v
      (br_if $vdone (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
      (v128.store (local.get $p) (v128.const i32x4 0 0 0 0))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (br $v)))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
      (f32.store (local.get $p) (f32.const 0))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $one))))

  ;; Image $b of NHWC x (plane pixels of ci channels) as ci planes at $planes + b·ci·plane floats:
  ;; 4x4 blocks (4 pixels by 4 channels) transposed in registers when ci and plane are
  ;; multiples of 4, one float at a time otherwise.
  (func $regroup (param $x i32) (param $planes i32) (param $plane i32) (param $ci i32)
    (local $planeBytes i32) (local $p i32) (local $c i32) (local $src i32) (local $dst i32) (local $i i32) (local $d i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $planeBytes (i32.shl (local.get $plane) (i32.const 2)))
    (if (i32.eqz (i32.and (i32.or (local.get $ci) (local.get $plane)) (i32.const 3)))
      (then
        (local.set $p (i32.const 0))
        (block $pdone (loop $ploop
          (br_if $pdone (i32.ge_u (local.get $p) (local.get $plane)))
          (local.set $c (i32.const 0))
          (loop $cloop
            (local.set $src (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $ci)) (local.get $c)) (i32.const 2))))
            (local.set $r0 (v128.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2))))
            (local.set $r1 (v128.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2))))
            (local.set $r2 (v128.load (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.shl (local.get $ci) (i32.const 2))))
            (local.set $r3 (v128.load (local.get $src)))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (local.set $dst (i32.add (local.get $planes) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $plane)) (local.get $p)) (i32.const 2))))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (local.set $dst (i32.add (local.get $dst) (local.get $planeBytes)))
            (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (local.set $dst (i32.add (local.get $dst) (local.get $planeBytes)))
            (v128.store (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (local.set $dst (i32.add (local.get $dst) (local.get $planeBytes)))
            (v128.store (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br_if $cloop (i32.lt_u (local.get $c) (local.get $ci))))
          (local.set $p (i32.add (local.get $p) (i32.const 4)))
          (br $ploop))))
      (else
        (local.set $d (local.get $planes))
        (local.set $p (i32.const 0))
        (block $sdone (loop $sloop
          (br_if $sdone (i32.ge_u (local.get $p) (local.get $plane)))
          (local.set $i (local.get $d))
          (local.set $c (i32.const 0))
          (loop $one
            (f32.store (local.get $i) (f32.load (local.get $x)))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (local.set $i (i32.add (local.get $i) (local.get $planeBytes)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br_if $one (i32.lt_u (local.get $c) (local.get $ci))))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $sloop))))))

  ;; $n floats from $s to $d, $s advancing by $step bytes a float.
  (func $copy (param $d i32) (param $s i32) (param $n i32) (param $step i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $d) (i32.shl (local.get $n) (i32.const 2))))
    (if (i32.eq (local.get $step) (i32.const 4))
      (then
        ;; Contiguous: four floats a step, then the rest one by one.
        (block $vdone (loop $v
          (br_if $vdone (i32.gt_u (i32.add (local.get $d) (i32.const 16)) (local.get $end)))
          (v128.store (local.get $d) (v128.load (local.get $s)))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $s (i32.add (local.get $s) (i32.const 16)))
          (br $v)))))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $d) (local.get $end)))
      (f32.store (local.get $d) (f32.load (local.get $s)))
      (local.set $d (i32.add (local.get $d) (i32.const 4)))
      (local.set $s (i32.add (local.get $s) (local.get $step)))
      (br $one))))

  ;; Row (fy, fx, c) of $dst holds, for every output pixel (b, oy, ox) in that order, the input
  ;; under that filter tap: x[b, oy·sh − top + fy, ox·sw − left + fx, c], 0 in the padding.
  ;; The input is first regrouped into channel planes (NCHW) at $planes (n·h·w·ci floats), so
  ;; that a row's run is read with stride sw.
  (func (export "im2col_t")
    (param $x i32) (param $planes i32) (param $dst i32)
    (param $n i32) (param $h i32) (param $w i32) (param $ci i32)
    (param $oh i32) (param $ow i32) (param $kh i32) (param $kw i32)
    (param $sh i32) (param $sw i32) (param $top i32) (param $left i32)
    (local $plane i32) (local $planeBytes i32) (local $d i32) (local $c i32)
    (local $fy i32) (local $fx i32) (local $x0 i32) (local $x1 i32) (local $a i32)
    (local $b i32) (local $oy i32) (local $y i32) (local $o i32) (local $rowBytes i32)
    (local.set $plane (i32.mul (local.get $h) (local.get $w)))
    (local.set $planeBytes (i32.shl (local.get $plane) (i32.const 2)))
    ;; planes[(b·ci + c)·plane + p] = x[(b·plane + p)·ci + c].
    (local.set $b (i32.const 0))
    (block $bdone (loop $bloop
      (br_if $bdone (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $d (i32.mul (i32.mul (local.get $b) (local.get $ci)) (local.get $planeBytes)))
      (call $regroup (i32.add (local.get $x) (local.get $d)) (i32.add (local.get $planes) (local.get $d)) (local.get $plane) (local.get $ci))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $bloop)))

    (local.set $rowBytes (i32.shl (local.get $ow) (i32.const 2)))
    (local.set $o (local.get $dst))
    (local.set $fy (i32.const 0))
    (block $fydone (loop $fyloop
      (br_if $fydone (i32.ge_s (local.get $fy) (local.get $kh)))
      (local.set $fx (i32.const 0))
      (block $fxdone (loop $fxloop
        (br_if $fxdone (i32.ge_s (local.get $fx) (local.get $kw)))
        ;; The output columns whose tap falls inside the image: ox in [x0, x1).
        ;; x0 = ceil((left − fx) / sw) if positive, else 0.
        (local.set $a (i32.sub (local.get $left) (local.get $fx)))
        (local.set $x0 (i32.const 0))
        (if (i32.gt_s (local.get $a) (i32.const 0))
          (then (local.set $x0 (i32.div_s (i32.add (local.get $a) (i32.sub (local.get $sw) (i32.const 1))) (local.get $sw)))))
        ;; x1 = floor((w − 1 + left − fx) / sw) + 1, or 0 when that is negative.
        (local.set $a (i32.add (i32.sub (local.get $w) (i32.const 1)) (i32.sub (local.get $left) (local.get $fx))))
        (local.set $x1 (i32.const 0))
        (if (i32.ge_s (local.get $a) (i32.const 0))
          (then (local.set $x1 (i32.add (i32.div_s (local.get $a) (local.get $sw)) (i32.const 1)))))
        (if (i32.gt_s (local.get $x1) (local.get $ow)) (then (local.set $x1 (local.get $ow))))
        (if (i32.gt_s (local.get $x0) (local.get $x1)) (then (local.set $x0 (local.get $x1))))
        (local.set $c (i32.const 0))
        (block $cdone (loop $cl
          (br_if $cdone (i32.ge_u (local.get $c) (local.get $ci)))
          (local.set $b (i32.const 0))
          (block $b2done (loop $b2
            (br_if $b2done (i32.ge_u (local.get $b) (local.get $n)))
            (local.set $oy (i32.const 0))
            (block $oydone (loop $oyloop
              (br_if $oydone (i32.ge_s (local.get $oy) (local.get $oh)))
              (local.set $y (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $top)) (local.get $fy)))
              (if (i32.or (i32.or (i32.lt_s (local.get $y) (i32.const 0)) (i32.ge_s (local.get $y) (local.get $h)))
                          (i32.eq (local.get $x0) (local.get $x1)))
                (then (call $zero (local.get $o) (local.get $ow)))
                (else
                  (call $zero (local.get $o) (local.get $x0))
                  (call $copy
                    (i32.add (local.get $o) (i32.shl (local.get $x0) (i32.const 2)))
                    (i32.add (local.get $planes)
                      (i32.shl
                        (i32.add
                          (i32.mul (i32.add (i32.mul (local.get $b) (local.get $ci)) (local.get $c)) (local.get $plane))
                          (i32.add (i32.mul (local.get $y) (local.get $w))
                                   (i32.add (i32.sub (i32.mul (local.get $x0) (local.get $sw)) (local.get $left)) (local.get $fx))))
                        (i32.const 2)))
                    (i32.sub (local.get $x1) (local.get $x0))
                    (i32.shl (local.get $sw) (i32.const 2)))
                  (call $zero (i32.add (local.get $o) (i32.shl (local.get $x1) (i32.const 2))) (i32.sub (local.get $ow) (local.get $x1)))))
              (local.set $o (i32.add (local.get $o) (local.get $rowBytes)))
              (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
              (br $oyloop)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $b2)))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br $cl)))
        (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
        (br $fxloop)))
      (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
      (br $fyloop))))
)
