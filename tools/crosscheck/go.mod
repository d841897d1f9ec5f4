// The cross-check driver is its own module so that it stays out of the main
// module's ./... and out of the tools module; it builds pkg/states from this
// work tree through the replace directive.
module github.com/pendulum-dr/pendulum/tools/crosscheck

go 1.26.0

require github.com/pendulum-dr/pendulum v0.0.0

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/sfn v1.41.2 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
)

replace github.com/pendulum-dr/pendulum => ../..
