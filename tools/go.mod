// This module only fences tools/node_modules (the pinned npm tools, whose
// packages ship .go templates) off from the main module's ./... patterns.
module github.com/pendulum-dr/pendulum/tools

go 1.26
