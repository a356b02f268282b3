package specimen

import (
	"encoding/binary"
	"image"
	"math/bits"
)

// jpegEncoder writes baseline JPEG files straight from a canvas: YCbCr 4:2:0
// colour or one grey component, standard Huffman tables (ITU T.81 K.3) and
// quality-scaled standard quantisation tables (K.1, K.2).
//
// It exists for speed: the generator's drawings are mostly flat colour, and
// a block of one colour needs no DCT (its only non-zero coefficient is the
// DC, computed directly and identical to what the DCT gives). Reading the
// canvas planes directly also saves the per-pixel colour conversion of
// image/jpeg. Every file it writes decodes with image/jpeg (tested).
//
// An encoder is not safe for concurrent use; the returned bytes are valid
// until the next call.
type jpegEncoder struct {
	qz     [2][64]int32  // divisors (8 × quantiser, the FDCT output is scaled by 8), zig-zag order
	qm     [2][64]uint64 // ceil(2^32 / divisor): quantize multiplies instead of dividing
	dqt    [2][64]byte   // quantisers as written, zig-zag order
	zig    [64]int       // natural index of each zig-zag position
	huff   [4][256]uint32
	out    []byte
	acc    uint64 // pending bits, left-aligned
	nacc   uint32 // number of pending bits, < 32 between calls
	blk    [64]int32
	noFast bool // tests: run the DCT on every block
}

// Huffman table indexes.
const (
	huffDCLum = iota
	huffACLum
	huffDCChroma
	huffACChroma
)

func newJPEGEncoder(quality int) *jpegEncoder {
	e := &jpegEncoder{}
	e.zig = zigzag()
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	for t, base := range [2][64]int32{lumQuant(), chromaQuant()} {
		for z := 0; z < 64; z++ {
			q := (base[e.zig[z]]*int32(scale) + 50) / 100
			q = min(max(q, 1), 255)
			e.dqt[t][z] = byte(q)
			e.qz[t][z] = 8 * q
			e.qm[t][z] = (1<<32 + uint64(8*q) - 1) / uint64(8*q)
		}
	}
	for i, s := range huffSpecs() {
		code, k := uint32(0), 0
		for n := 0; n < 16; n++ {
			for j := 0; j < int(s.counts[n]); j++ {
				e.huff[i][s.values[k]] = uint32(n+1)<<24 | code
				code++
				k++
			}
			code <<= 1
		}
	}
	return e
}

// zigzag returns the natural (row-major) index of each zig-zag position.
func zigzag() [64]int {
	var z [64]int
	i := 0
	for s := 0; s < 15; s++ {
		for k := 0; k <= s; k++ {
			row := k
			if s%2 == 0 {
				row = s - k
			}
			col := s - row
			if row < 8 && col < 8 {
				z[i] = row*8 + col
				i++
			}
		}
	}
	return z
}

// lumQuant and chromaQuant are the tables of ITU T.81 K.1 and K.2, in
// natural order.
func lumQuant() [64]int32 {
	return [64]int32{
		16, 11, 10, 16, 24, 40, 51, 61,
		12, 12, 14, 19, 26, 58, 60, 55,
		14, 13, 16, 24, 40, 57, 69, 56,
		14, 17, 22, 29, 51, 87, 80, 62,
		18, 22, 37, 56, 68, 109, 103, 77,
		24, 35, 55, 64, 81, 104, 113, 92,
		49, 64, 78, 87, 103, 121, 120, 101,
		72, 92, 95, 98, 112, 100, 103, 99,
	}
}

func chromaQuant() [64]int32 {
	q := [64]int32{}
	for i := range q {
		q[i] = 99
	}
	for i, v := range [16]int32{17, 18, 24, 47, 18, 21, 26, 66, 24, 26, 56, 99, 47, 66, 99, 99} {
		q[(i/4)*8+i%4] = v
	}
	return q
}

type huffSpec struct {
	counts [16]byte
	values []byte
}

// huffSpecs are the Huffman tables of ITU T.81 K.3: luminance DC, luminance
// AC, chrominance DC, chrominance AC.
func huffSpecs() [4]huffSpec {
	return [4]huffSpec{
		{[16]byte{0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{[16]byte{0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125}, []byte{
			0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
			0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
			0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
			0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
			0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
			0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
			0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
			0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
			0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
			0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
		{[16]byte{0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0}, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{[16]byte{0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119}, []byte{
			0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
			0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
			0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
			0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
			0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
			0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
			0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
			0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
			0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
			0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
			0xf9, 0xfa}},
	}
}

// encodeYCbCr encodes a 4:2:0 image.
func (e *jpegEncoder) encodeYCbCr(m *image.YCbCr) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	e.header(w, h, 3)
	var dc [3]int32
	for my := 0; my < (h+15)/16; my++ {
		for mx := 0; mx < (w+15)/16; mx++ {
			for i := 0; i < 4; i++ {
				x, y := mx*16+(i&1)*8, my*16+(i>>1)*8
				dc[0] = e.block(m.Y, m.YStride, w, h, x, y, 0, dc[0])
			}
			dc[1] = e.block(m.Cb, m.CStride, cw, ch, mx*8, my*8, 1, dc[1])
			dc[2] = e.block(m.Cr, m.CStride, cw, ch, mx*8, my*8, 1, dc[2])
		}
	}
	return e.finish()
}

// encodeGray encodes a grey image.
func (e *jpegEncoder) encodeGray(m *image.Gray) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	e.header(w, h, 1)
	var dc int32
	for y := 0; y < h; y += 8 {
		for x := 0; x < w; x += 8 {
			dc = e.block(m.Pix, m.Stride, w, h, x, y, 0, dc)
		}
	}
	return e.finish()
}

func (e *jpegEncoder) header(w, h, comps int) {
	e.out = append(e.out[:0], 0xFF, 0xD8)
	tables := 2
	if comps == 1 {
		tables = 1
	}
	// DQT
	e.out = append(e.out, 0xFF, 0xDB)
	e.out = binary.BigEndian.AppendUint16(e.out, uint16(2+65*tables))
	for t := 0; t < tables; t++ {
		e.out = append(e.out, byte(t))
		e.out = append(e.out, e.dqt[t][:]...)
	}
	// SOF0
	e.out = append(e.out, 0xFF, 0xC0)
	e.out = binary.BigEndian.AppendUint16(e.out, uint16(8+3*comps))
	e.out = append(e.out, 8)
	e.out = binary.BigEndian.AppendUint16(e.out, uint16(h))
	e.out = binary.BigEndian.AppendUint16(e.out, uint16(w))
	e.out = append(e.out, byte(comps))
	if comps == 1 {
		e.out = append(e.out, 1, 0x11, 0)
	} else {
		e.out = append(e.out, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1)
	}
	// DHT
	specs := huffSpecs()
	n := 0
	for i := 0; i < 2*tables; i++ {
		n += 17 + len(specs[i].values)
	}
	e.out = append(e.out, 0xFF, 0xC4)
	e.out = binary.BigEndian.AppendUint16(e.out, uint16(2+n))
	for i := 0; i < 2*tables; i++ {
		class, id := byte(i%2), byte(i/2)
		e.out = append(e.out, class<<4|id)
		e.out = append(e.out, specs[i].counts[:]...)
		e.out = append(e.out, specs[i].values...)
	}
	// SOS
	e.out = append(e.out, 0xFF, 0xDA)
	e.out = binary.BigEndian.AppendUint16(e.out, uint16(6+2*comps))
	e.out = append(e.out, byte(comps))
	if comps == 1 {
		e.out = append(e.out, 1, 0x00)
	} else {
		e.out = append(e.out, 1, 0x00, 2, 0x11, 3, 0x11)
	}
	e.out = append(e.out, 0, 63, 0)
	e.acc, e.nacc = 0, 0
}

func (e *jpegEncoder) finish() []byte {
	e.emit(0x7F, 7) // pad the last byte with 1-bits
	for e.nacc >= 8 {
		e.flushByte()
	}
	return append(e.out, 0xFF, 0xD9)
}

// emit writes the low n bits of code (n ≤ 32).
func (e *jpegEncoder) emit(code, n uint32) {
	e.acc |= uint64(code) << (64 - e.nacc - n)
	e.nacc += n
	if e.nacc < 32 {
		return
	}
	// Write four bytes at once unless one of them is 0xFF, which needs a
	// stuffed 0x00 after it.
	w := uint32(e.acc >> 32)
	if nw := ^w; (nw-0x01010101)&^nw&0x80808080 == 0 {
		e.out = binary.BigEndian.AppendUint32(e.out, w)
		e.acc <<= 32
		e.nacc -= 32
		return
	}
	for e.nacc >= 8 {
		e.flushByte()
	}
}

func (e *jpegEncoder) flushByte() {
	b := byte(e.acc >> 56)
	e.out = append(e.out, b)
	if b == 0xFF {
		e.out = append(e.out, 0)
	}
	e.acc <<= 8
	e.nacc -= 8
}

func (e *jpegEncoder) emitHuff(table int, sym int32) {
	c := e.huff[table][sym]
	e.emit(c&0xFFFF, c>>24)
}

// emitValue writes the Huffman symbol run<<4|size followed by the value's
// size bits, in one emit (at most 16 + 11 bits).
func (e *jpegEncoder) emitValue(table int, run, v int32) {
	a, b := v, v
	if a < 0 {
		a, b = -v, v-1
	}
	size := uint32(bits.Len32(uint32(a)))
	c := e.huff[table][run<<4|int32(size)]
	e.emit((c&0xFFFF)<<size|uint32(b)&(1<<size-1), c>>24+size)
}

// block encodes the 8×8 block at (x, y) of a plane of w×h samples (edges
// repeat the last row and column) with quantiser table t, and returns its
// quantised DC for the next block's prediction.
func (e *jpegEncoder) block(plane []byte, stride, w, h, x, y, t int, prevDC int32) int32 {
	dcTable, acTable := huffDCLum, huffACLum
	if t == 1 {
		dcTable, acTable = huffDCChroma, huffACChroma
	}
	if !e.noFast {
		if v, ok := uniform(plane, stride, w, h, x, y); ok {
			dc := quantize(64*(int32(v)-128), e.qz[t][0], e.qm[t][0])
			e.emitValue(dcTable, 0, dc-prevDC)
			e.emitHuff(acTable, 0x00) // EOB
			return dc
		}
	}
	b := &e.blk
	if x+8 <= w && y+8 <= h {
		for j := 0; j < 8; j++ {
			row := plane[(y+j)*stride+x : (y+j)*stride+x+8 : (y+j)*stride+x+8]
			d := b[j*8 : j*8+8 : j*8+8]
			for i, v := range row {
				d[i] = int32(v) - 128
			}
		}
	} else {
		for j := 0; j < 8; j++ {
			row := min(y+j, h-1) * stride
			for i := 0; i < 8; i++ {
				b[j*8+i] = int32(plane[row+min(x+i, w-1)]) - 128
			}
		}
	}
	fdct(b)
	q, qm := &e.qz[t], &e.qm[t]
	dc := quantize(b[0], q[0], qm[0])
	e.emitValue(dcTable, 0, dc-prevDC)
	run := int32(0)
	for z := 1; z < 64; z++ {
		v := quantize(b[e.zig[z]], q[z], qm[z])
		if v == 0 {
			run++
			continue
		}
		for run > 15 {
			e.emitHuff(acTable, 0xF0) // ZRL
			run -= 16
		}
		e.emitValue(acTable, run, v)
		run = 0
	}
	if run > 0 {
		e.emitHuff(acTable, 0x00) // EOB
	}
	return dc
}

// uniform reports whether the block at (x, y) has one value, and which.
func uniform(plane []byte, stride, w, h, x, y int) (byte, bool) {
	v := plane[min(y, h-1)*stride+min(x, w-1)]
	if x+8 > w || y+8 > h {
		for j := 0; j < 8; j++ {
			row := min(y+j, h-1) * stride
			for i := 0; i < 8; i++ {
				if plane[row+min(x+i, w-1)] != v {
					return 0, false
				}
			}
		}
		return v, true
	}
	want := uint64(v) * 0x0101010101010101
	for j := 0; j < 8; j++ {
		o := (y+j)*stride + x
		if binary.LittleEndian.Uint64(plane[o:o+8]) != want {
			return 0, false
		}
	}
	return v, true
}

// quantize divides a by q rounding half away from zero; m is ceil(2^32/q).
// The multiply-shift equals the integer division for numerators below
// 2^32/q (over 2^21 here), far above the FDCT's range of about ±2^15.
func quantize(a, q int32, m uint64) int32 {
	if t := q - q>>1; a < t && a > -t {
		return 0 // the common case
	}
	if a >= 0 {
		return int32(uint64(a+q>>1) * m >> 32)
	}
	return -int32(uint64(-a+q>>1) * m >> 32)
}

// FDCT constants of the IJG "islow" algorithm (Loeffler, Ligtenberg and
// Moschytz), 13-bit fixed point.
const (
	fdctConstBits = 13
	fdctPass1Bits = 2
	fix0_298      = 2446
	fix0_390      = 3196
	fix0_541      = 4433
	fix0_765      = 6270
	fix0_899      = 7373
	fix1_175      = 9633
	fix1_501      = 12299
	fix1_847      = 15137
	fix1_961      = 16069
	fix2_053      = 16819
	fix2_562      = 20995
	fix3_072      = 25172
)

func descale(x int32, n uint) int32 { return (x + 1<<(n-1)) >> n }

// fdct is the forward DCT of a level-shifted block (samples − 128), in
// place; the output is 8 times the DCT coefficients.
func fdct(b *[64]int32) {
	// Rows; the results are scaled up by 2^fdctPass1Bits.
	for r := 0; r < 64; r += 8 {
		s := b[r : r+8 : r+8]
		e0, o7 := s[0]+s[7], s[0]-s[7]
		e1, o6 := s[1]+s[6], s[1]-s[6]
		e2, o5 := s[2]+s[5], s[2]-s[5]
		e3, o4 := s[3]+s[4], s[3]-s[4]
		t10, t13 := e0+e3, e0-e3
		t11, t12 := e1+e2, e1-e2
		s[0] = (t10 + t11) << fdctPass1Bits
		s[4] = (t10 - t11) << fdctPass1Bits
		z1 := (t12 + t13) * fix0_541
		s[2] = descale(z1+t13*fix0_765, fdctConstBits-fdctPass1Bits)
		s[6] = descale(z1-t12*fix1_847, fdctConstBits-fdctPass1Bits)
		s[7], s[5], s[3], s[1] = fdctOdd(o4, o5, o6, o7, fdctConstBits-fdctPass1Bits)
	}
	// Columns; the pass-1 scaling is removed, leaving a factor of 8.
	for c := 0; c < 8; c++ {
		e0, o7 := b[c]+b[56+c], b[c]-b[56+c]
		e1, o6 := b[8+c]+b[48+c], b[8+c]-b[48+c]
		e2, o5 := b[16+c]+b[40+c], b[16+c]-b[40+c]
		e3, o4 := b[24+c]+b[32+c], b[24+c]-b[32+c]
		t10, t13 := e0+e3, e0-e3
		t11, t12 := e1+e2, e1-e2
		b[c] = descale(t10+t11, fdctPass1Bits)
		b[32+c] = descale(t10-t11, fdctPass1Bits)
		z1 := (t12 + t13) * fix0_541
		b[16+c] = descale(z1+t13*fix0_765, fdctConstBits+fdctPass1Bits)
		b[48+c] = descale(z1-t12*fix1_847, fdctConstBits+fdctPass1Bits)
		b[56+c], b[40+c], b[24+c], b[8+c] = fdctOdd(o4, o5, o6, o7, fdctConstBits+fdctPass1Bits)
	}
}

// fdctOdd is the odd part of the 8-point DCT: outputs 7, 5, 3, 1.
func fdctOdd(t4, t5, t6, t7 int32, shift uint) (int32, int32, int32, int32) {
	z1, z2, z3, z4 := t4+t7, t5+t6, t4+t6, t5+t7
	z5 := (z3 + z4) * fix1_175
	t4 *= fix0_298
	t5 *= fix2_053
	t6 *= fix3_072
	t7 *= fix1_501
	z1 *= -fix0_899
	z2 *= -fix2_562
	z3 = z3*-fix1_961 + z5
	z4 = z4*-fix0_390 + z5
	return descale(t4+z1+z3, shift), descale(t5+z2+z4, shift), descale(t6+z2+z3, shift), descale(t7+z1+z4, shift)
}
