package jsonpath

import "errors"

type segment struct{}

func (s segment) isReferenceStep() bool { return true }
func (s segment) isDefinite() bool      { return true }

func compile(expr string) (*Path, error) { return nil, errors.New("jsonpath: not implemented yet") }
func (p *Path) get(doc any) (any, error) { return nil, errors.New("jsonpath: not implemented yet") }
func set(doc any, ref *Path, value any) (any, error) {
	return nil, errors.New("jsonpath: not implemented yet")
}
