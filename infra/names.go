package main

import "github.com/pendulum-dr/pendulum/pkg/topology"

// Names is the installation's naming scheme, shared with the local runner
// and the DR steps (pkg/topology): every physical name is a pure function of
// (prefix, account, region), so no stack needs a cross-region reference.
type Names = topology.Names

// NamesFor returns the names of cfg.
func NamesFor(cfg Config) Names { return Names{Prefix: cfg.NamePrefix, Account: cfg.Account} }

// Published parameter paths.
const (
	paramALBARN         = "ingest/alb-arn"
	paramALBDNS         = "ingest/alb-dns-name"
	paramAcceleratorARN = "global/accelerator-arn"
	paramAcceleratorDNS = "global/accelerator-dns-name"
)

// paramEndpointGroupARN is the path of the endpoint group ARN of region.
func paramEndpointGroupARN(region string) string { return "global/endpoint-group-arn/" + region }
