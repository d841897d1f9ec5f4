package compact

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// errLineTooLong reports a line longer than maxLineBytes.
var errLineTooLong = fmt.Errorf("line longer than %d bytes", maxLineBytes)

// lineReader splits a stream into '\n'-terminated lines without copying the
// common case: a line that fits the bufio buffer is returned in place.
type lineReader struct {
	br   *bufio.Reader
	long []byte // assembles a line longer than the buffer
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// reset reads r from now on, keeping the buffers.
func (l *lineReader) reset(r io.Reader) {
	l.br.Reset(r)
	l.long = l.long[:0]
}

// next returns the next line without its '\n', valid until the next call;
// io.EOF after the last. A final line without '\n' is still a line.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.br.ReadSlice('\n')
	if err == nil {
		return line[:len(line)-1], nil
	}
	if errors.Is(err, bufio.ErrBufferFull) {
		l.long = append(l.long[:0], line...)
		for {
			line, err = l.br.ReadSlice('\n')
			if len(l.long)+len(line) > maxLineBytes+1 {
				return nil, errLineTooLong
			}
			l.long = append(l.long, line...)
			switch {
			case err == nil:
				return l.long[:len(l.long)-1], nil
			case errors.Is(err, bufio.ErrBufferFull):
				continue
			case err == io.EOF:
				return l.long, nil
			default:
				return nil, err
			}
		}
	}
	if err == io.EOF && len(line) > 0 {
		return line, nil
	}
	return nil, err
}
