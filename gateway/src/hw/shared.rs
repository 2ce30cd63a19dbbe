//! One I2C device reachable from several owners: a simulated device outlives each driver
//! instance (the driver is re-created to recover from faults), as a real chip outlives the file
//! descriptor used to talk to it.

use std::sync::{Arc, Mutex};

use embedded_hal::i2c::{ErrorType, I2c, Operation, SevenBitAddress};

pub struct SharedI2c<T>(Arc<Mutex<T>>);

impl<T> SharedI2c<T> {
    pub fn new(bus: T) -> Self {
        SharedI2c(Arc::new(Mutex::new(bus)))
    }
}

impl<T> Clone for SharedI2c<T> {
    fn clone(&self) -> Self {
        SharedI2c(self.0.clone())
    }
}

impl<T: ErrorType> ErrorType for SharedI2c<T> {
    type Error = T::Error;
}

impl<T: I2c> I2c for SharedI2c<T> {
    fn transaction(
        &mut self,
        address: SevenBitAddress,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        // A poisoned lock only means another reader panicked mid-transfer; the bus is still usable.
        let mut bus = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bus.transaction(address, operations)
    }
}
