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
	paramALBARN = "ingest/alb-arn"
	paramALBDNS = "ingest/alb-dns-name"
	// paramALBURL is how the region's ALB is reached (scheme://DNS name):
	// the scheme is its listener's, decided at deploy time by the stack's
	// CertificateArn parameter.
	paramALBURL = "ingest/alb-url"
	// paramListenerPort is the ALB listener's port, "443" or "80".
	paramListenerPort   = "ingest/listener-port"
	paramAcceleratorARN = "global/accelerator-arn"
	paramAcceleratorDNS = "global/accelerator-dns-name"
	// paramAcceleratorURL is how producers and probes reach the accelerator
	// (scheme://DNS name), with P's listener scheme.
	paramAcceleratorURL = "global/accelerator-url"
)

// paramsPublishedByIngress are the parameters the workload stack publishes
// from its active part: B's are created when it is activated.
var paramsPublishedByIngress = []string{paramALBARN, paramALBDNS, paramALBURL, paramListenerPort}

// paramEndpointGroupARN is the path of the endpoint group ARN of region.
func paramEndpointGroupARN(region string) string { return "global/endpoint-group-arn/" + region }
