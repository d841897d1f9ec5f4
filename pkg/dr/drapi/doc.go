// Package drapi is what a caller of the DR workflows sees of them: the
// workflow names and their validated inputs, the DR modes and the control
// record in B's control table, and the report built from an execution's
// history. The dr-* functions (pkg/dr) implement the workflows with these
// types; the operator CLI (cmd/pendulum, pkg/operator) reads and starts them
// with the same ones, without linking the steps' SDK clients.
package drapi
