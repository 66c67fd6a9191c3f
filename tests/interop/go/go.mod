module tokener.test/interop/biscuitgo

go 1.26

require (
	github.com/biscuit-auth/biscuit-go/v2 v2.2.0
	google.golang.org/protobuf v1.31.0
)

require github.com/alecthomas/participle/v2 v2.0.0 // indirect
