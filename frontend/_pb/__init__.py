"""Generated protobuf modules for BuildKit's wire format (see proto/)."""
