package codec

// This file parses the text form of PostgreSQL arrays (array_out), which is
// how array columns come back (see ResultFormat):
//
//	{1,2,NULL}   {"a b","say \"hi\"",NULL,"NULL"}   {{1,2},{3,4}}   {}
//	[0:1]={7,8}  (a lower bound other than 1 comes first)
//
// An element is quoted when it is empty, holds a delimiter, a brace, a
// quote, a backslash or white space, or is the word NULL; inside quotes
// backslash escapes the next character. An unquoted element may carry
// backslash escapes too, and white space around it is not part of it.
// The delimiter is a comma for every built-in type except box (a
// semicolon), which the parser does not handle.

import (
	"errors"
	"fmt"
	"strings"
)

// textArray is a parsed array: its dimensions (none for an empty array)
// and its elements in row-major order.
type textArray struct {
	dims  []int
	elems []arrayElem
}

// arrayElem is one element: its text, or NULL.
type arrayElem struct {
	text string
	null bool
}

// parseTextArray parses src, an array in the text format.
func parseTextArray(src []byte) (*textArray, error) {
	p := arrayParser{src: src, leaf: -1}
	if err := p.parse(); err != nil {
		const shown = 64
		if len(src) > shown {
			return nil, fmt.Errorf("pgpipe: malformed array %q... (%d bytes): %w", src[:shown], len(src), err)
		}
		return nil, fmt.Errorf("pgpipe: malformed array %q: %w", src, err)
	}
	return &p.out, nil
}

type arrayParser struct {
	src []byte
	i   int
	out textArray
	// leaf is the level of the elements, once one was read; -1 before.
	leaf int
	// holdsSubs has bit l set once a sub-array was read at level l: an
	// element there is malformed, even after only empty sub-arrays.
	holdsSubs uint8
	buf       []byte
}

func (p *arrayParser) parse() error {
	p.skipSpace()
	if p.i < len(p.src) && p.src[p.i] == '[' {
		// Dimension decoration: [lo:hi][lo:hi]=, bounds other than 1.
		for p.i < len(p.src) && p.src[p.i] != '=' {
			p.i++
		}
		if p.i == len(p.src) {
			return errors.New("dimension bounds without '='")
		}
		p.i++
		p.skipSpace()
	}
	if err := p.sub(0); err != nil {
		return err
	}
	p.skipSpace()
	if p.i != len(p.src) {
		return fmt.Errorf("unexpected %q after the closing brace", p.src[p.i])
	}
	if len(p.out.elems) == 0 {
		p.out.dims = nil
	}
	return nil
}

// sub reads one sub-array, from its opening brace, at the given level.
func (p *arrayParser) sub(level int) error {
	if p.i >= len(p.src) || p.src[p.i] != '{' {
		return errors.New("want '{'")
	}
	if level >= maxArrayDims {
		return fmt.Errorf("more than %d dimensions", maxArrayDims)
	}
	p.i++
	n := 0
	for {
		p.skipSpace()
		if p.i >= len(p.src) {
			return errors.New("unterminated")
		}
		if p.src[p.i] == '}' && n == 0 {
			p.i++
			return p.closeLevel(level, 0)
		}
		if err := p.item(level); err != nil {
			return err
		}
		n++
		p.skipSpace()
		if p.i >= len(p.src) {
			return errors.New("unterminated")
		}
		switch p.src[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return p.closeLevel(level, n)
		default:
			return fmt.Errorf("unexpected %q at offset %d", p.src[p.i], p.i)
		}
	}
}

// item reads one element or sub-array of a sub-array at level. Elements
// must all sit at the same depth.
func (p *arrayParser) item(level int) error {
	if p.src[p.i] == '{' {
		if p.leaf >= 0 && level+1 > p.leaf {
			return errors.New("a sub-array where an element belongs")
		}
		p.holdsSubs |= 1 << level
		return p.sub(level + 1)
	}
	if p.holdsSubs&(1<<level) != 0 {
		return errors.New("an element where a sub-array belongs")
	}
	if p.leaf < 0 {
		p.leaf = level
	} else if p.leaf != level {
		return errors.New("an element where a sub-array belongs")
	}
	e, err := p.elem()
	if err != nil {
		return err
	}
	p.out.elems = append(p.out.elems, e)
	return nil
}

// closeLevel checks that a sub-array at level had n items, as every other
// at that level.
func (p *arrayParser) closeLevel(level, n int) error {
	for len(p.out.dims) <= level {
		p.out.dims = append(p.out.dims, -1)
	}
	switch d := p.out.dims[level]; {
	case d < 0:
		p.out.dims[level] = n
	case d != n:
		return fmt.Errorf("sub-arrays of different lengths (%d and %d) in dimension %d", d, n, level+1)
	}
	return nil
}

// elem reads one element, quoted or not.
func (p *arrayParser) elem() (arrayElem, error) {
	p.buf = p.buf[:0]
	if p.src[p.i] == '"' {
		p.i++
		for {
			if p.i >= len(p.src) {
				return arrayElem{}, errors.New("unterminated quoted element")
			}
			c := p.src[p.i]
			p.i++
			switch c {
			case '"':
				return arrayElem{text: string(p.buf)}, nil
			case '\\':
				if p.i >= len(p.src) {
					return arrayElem{}, errors.New("backslash at the end")
				}
				c = p.src[p.i]
				p.i++
			}
			p.buf = append(p.buf, c)
		}
	}
	start, end := p.i, p.i // end: after the last character that is not trailing space
	escaped := false
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c == ',' || c == '}' || c == '{' || c == '"' {
			break
		}
		p.i++
		if c == '\\' {
			if p.i >= len(p.src) {
				return arrayElem{}, errors.New("backslash at the end")
			}
			c = p.src[p.i]
			p.i++
			escaped = true
			p.buf = append(p.buf, c)
			end = len(p.buf)
			continue
		}
		p.buf = append(p.buf, c)
		if !isSpaceC(c) {
			end = len(p.buf)
		}
	}
	if p.i == start {
		return arrayElem{}, fmt.Errorf("empty element at offset %d", start)
	}
	text := string(p.buf[:end])
	if !escaped && strings.EqualFold(text, "NULL") {
		return arrayElem{null: true}, nil
	}
	return arrayElem{text: text}, nil
}

func (p *arrayParser) skipSpace() {
	for p.i < len(p.src) && isSpaceC(p.src[p.i]) {
		p.i++
	}
}
