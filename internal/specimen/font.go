package specimen

// glyph returns the 5×7 bitmap of ch as 35 characters, row by row ('#' is
// ink). Characters without a glyph render as blanks.
func glyph(ch byte) string {
	switch ch {
	case 'A':
		return ".###.#...##...#######...##...##...#"
	case 'B':
		return "####.#...##...#####.#...##...#####."
	case 'C':
		return ".###.#...##....#....#....#...#.###."
	case 'D':
		return "###..#..#.#...##...##...##..#.###.."
	case 'E':
		return "######....#....####.#....#....#####"
	case 'F':
		return "######....#....####.#....#....#...."
	case 'G':
		return ".###.#...##....#.####...##...#.####"
	case 'H':
		return "#...##...##...#######...##...##...#"
	case 'I':
		return ".###...#....#....#....#....#...###."
	case 'J':
		return "..###...#....#....#....#.#..#..##.."
	case 'K':
		return "#...##..#.#.#..##...#.#..#..#.#...#"
	case 'L':
		return "#....#....#....#....#....#....#####"
	case 'M':
		return "#...###.###.#.##.#.##...##...##...#"
	case 'N':
		return "#...##...###..##.#.##..###...##...#"
	case 'O':
		return ".###.#...##...##...##...##...#.###."
	case 'P':
		return "####.#...##...#####.#....#....#...."
	case 'Q':
		return ".###.#...##...##...##.#.##..#..##.#"
	case 'R':
		return "####.#...##...#####.#.#..#..#.#...#"
	case 'S':
		return ".#####....#.....###.....#....#####."
	case 'T':
		return "#####..#....#....#....#....#....#.."
	case 'U':
		return "#...##...##...##...##...##...#.###."
	case 'V':
		return "#...##...##...##...##...#.#.#...#.."
	case 'W':
		return "#...##...##...##.#.##.#.##.#.#.#.#."
	case 'X':
		return "#...##...#.#.#...#...#.#.#...##...#"
	case 'Y':
		return "#...##...#.#.#...#....#....#....#.."
	case 'Z':
		return "#####....#...#...#...#...#....#####"
	case '0':
		return ".###.#...##..###.#.###..##...#.###."
	case '1':
		return "..#...##....#....#....#....#...###."
	case '2':
		return ".###.#...#....#...#...#...#...#####"
	case '3':
		return "#####...#...#.....#.....##...#.###."
	case '4':
		return "...#...##..#.#.#..#.#####...#....#."
	case '5':
		return "######....####.....#....##...#.###."
	case '6':
		return "..##..#...#....####.#...##...#.###."
	case '7':
		return "#####....#...#...#...#....#....#..."
	case '8':
		return ".###.#...##...#.###.#...##...#.###."
	case '9':
		return ".###.#...##...#.####....#...#..##.."
	case '<':
		return "...#...#...#...#.....#.....#.....#."
	case '-':
		return "...............#####..............."
	case '.':
		return ".........................##...##..."
	case '/':
		return ".........#...#...#...#...#........."
	case ',':
		return "....................##....#...#...."
	case ':':
		return "......##...##........##...##......."
	case '\'':
		return ".##....#...#......................."
	}
	return ""
}

// Glyph cells are 6×8 font pixels (one column and one row of spacing).
const (
	glyphW = 6
	glyphH = 8
)

// textWidth is the width in pixels of s drawn at scale.
func textWidth(s string, scale int) int { return len(s) * glyphW * scale }

// text draws s with its top-left corner at (x, y), each font pixel a
// scale×scale square, and returns the x after the last glyph.
func (c *canvas) text(x, y, scale int, s string, col ycc) int {
	for i := 0; i < len(s); i++ {
		g := glyph(s[i])
		for row := 0; row+5 <= len(g); row += 5 {
			// one rectangle per run of ink in the row
			for p := 0; p < 5; p++ {
				if g[row+p] != '#' {
					continue
				}
				q := p
				for q < 5 && g[row+q] == '#' {
					q++
				}
				py := y + row/5*scale
				c.fillRect(x+p*scale, py, x+q*scale, py+scale, col)
				p = q
			}
		}
		x += glyphW * scale
	}
	return x
}
