// Package jsonpath evaluates JSONPath expressions the way AWS Step Functions does.
//
// Step Functions evaluates paths with the Jayway JsonPath library, so this package follows that
// dialect: "$", ".name", "['name']", "[n]" (negative n counts from the end), "[*]", ".*",
// "..name" deep scan, slices "[a:b]", unions "[0,1]" and "['a','b']", and filters
// "[?(@.x > 1)]" with ==, !=, <, <=, >, >=, =~, in, nin, subsetof, anyof, noneof, contains,
// size, empty, &&, ||, ! and existence checks.
//
// Path functions are not evaluated, because Step Functions does not evaluate them: a step such
// as ".length()" is an ordinary member name, so "$.list.length()" finds nothing unless the object
// has a member called "length()". Step Functions reports exactly that ("Property ['length()'] not
// found"); States.ArrayLength is the supported way to count.
//
// A slice step ("[0:6:2]") does not compile. Jayway has no slice step and silently reads that
// slice as "[0:6]"; rejecting it makes the validator report a step that would be ignored.
//
// Filters select objects only: the developer guide states that "@" does not match scalar
// values, so "$.tags[?(@ == 'x')]" selects nothing from an array of strings.
//
// JSON values are those produced by encoding/json's Decoder with UseNumber: nil, bool,
// json.Number, string, []any and map[string]any; float64 and int are tolerated as numbers.
// Objects are Go maps, which have no order, so wildcards and deep scans visit object members
// in sorted key order (Jayway visits them in document order).
package jsonpath

import (
	"errors"
)

// ErrNotFound is in the chain of the error Get returns when a definite path selects nothing.
// The engine turns it into States.Runtime (InputPath, OutputPath, Parameters) or the
// path-specific error the specification names.
var ErrNotFound = errors.New("path not found")

// Path is a compiled JSONPath expression. A Path is immutable and safe for concurrent use.
type Path struct {
	src  string
	root byte // '$', or '@' for a path inside a filter
	segs []segment
	// definite and reference cache IsDefinite and IsReference.
	definite, reference bool
}

// Compile parses expr, which must start with "$". Context-object paths ("$$.Execution.Id") are
// compiled by the caller without the first "$" and applied to the context object.
func Compile(expr string) (*Path, error) {
	return compile(expr)
}

// String returns the expression the Path was compiled from.
func (p *Path) String() string { return p.src }

// IsReference reports whether p is a Reference Path: only ".name", "['name']" and "[n]" steps,
// no wildcard, filter, slice, union or deep scan. ResultPath and the Choice rule Variable fields
// accept only Reference Paths.
func (p *Path) IsReference() bool { return p.reference }

func (p *Path) isReference() bool {
	for i := range p.segs {
		if !p.segs[i].isReferenceStep() {
			return false
		}
	}
	return true
}

// IsDefinite reports whether p selects at most one value, in which case Get returns that value
// itself rather than a list of matches.
func (p *Path) IsDefinite() bool { return p.definite }

func (p *Path) isDefinite() bool {
	for i := range p.segs {
		if !p.segs[i].isDefinite() {
			return false
		}
	}
	return true
}

// Get applies p to doc. For a definite path it returns the selected value, or an error wrapping
// ErrNotFound when nothing is selected. For an indefinite path it returns a []any of every match
// (possibly empty) and no error. Get never modifies doc.
func (p *Path) Get(doc any) (any, error) {
	return p.get(doc)
}

// Set returns doc with value placed at the Reference Path ref, as ResultPath does: objects are
// created for missing members along the way, and an existing array element may be replaced.
// It fails when the path must pass through a value that is not an object (or, for an index step,
// not an array holding that index); the engine raises States.ResultPathMatchFailure then. The
// path "$" returns value itself. Set copies every object and array along the path and never
// modifies the caller's doc.
func Set(doc any, ref *Path, value any) (any, error) {
	return set(doc, ref, value)
}

// ErrCannotSet is in the chain of the error Set returns when the value cannot be placed: the
// path is not a Reference Path, or it must pass through something that is not an object (or an
// array holding the index).
var ErrCannotSet = errors.New("cannot place value at path")
