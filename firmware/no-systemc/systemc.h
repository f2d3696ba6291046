#error "firmware must not include SystemC or TLM: reach hardware through cestvp::fw::Hal (contract/cestvp/hal.h)"
